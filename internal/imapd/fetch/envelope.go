package fetch

import "facteur.dev/facteur/internal/message"

// AppendEnvelope appends the ENVELOPE structure (RFC 9051 §7.5.2, RFC 3501
// §7.4.2): (date subject from sender reply-to to cc bcc in-reply-to
// message-id). Date, subject and the message IDs are the raw header values;
// empty ones are NIL. Group syntax is the one package message records: a
// start marker (NIL NIL "name" NIL) and an end marker (NIL NIL NIL NIL).
// utf8 is whether the session enabled UTF8=ACCEPT or IMAP4rev2: then
// UTF-8 strings may be quoted; otherwise non-ASCII raw values are sent as
// literals and decoded display names as RFC 2047 encoded-words. A nil env
// gives an envelope of NILs.
func AppendEnvelope(b []byte, env *message.Envelope, utf8 bool) []byte {
	if env == nil {
		env = &message.Envelope{}
	}
	b = append(b, '(')
	b = appendNString(b, env.Date, utf8)
	b = append(b, ' ')
	b = appendNString(b, env.Subject, utf8)
	for _, list := range [...][]message.Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		b = append(b, ' ')
		b = appendAddressList(b, list, utf8)
	}
	b = append(b, ' ')
	b = appendNString(b, env.InReplyTo, utf8)
	b = append(b, ' ')
	b = appendNString(b, env.MessageID, utf8)
	return append(b, ')')
}

// appendAddressList appends "(" 1*address ")" / nil (RFC 9051 §9 env-from).
func appendAddressList(b []byte, list []message.Address, utf8 bool) []byte {
	if len(list) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for _, a := range list {
		b = append(b, '(')
		b = appendText(b, a.Name, utf8)
		b = append(b, ' ')
		b = appendNString(b, a.Adl, utf8)
		b = append(b, ' ')
		b = appendNString(b, a.Mailbox, utf8)
		b = append(b, ' ')
		b = appendNString(b, a.Host, utf8)
		b = append(b, ')')
	}
	return append(b, ')')
}
