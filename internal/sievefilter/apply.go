package sievefilter

import (
	"context"
	"strings"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/sieve"
	"facteur.dev/facteur/internal/store"
)

// apply turns a script's result into the copy: the first filing (a keep
// or the first fileinto) in c's Mailbox, the others in Also; redirects in
// Forward; replies in Send; a reject in Reject. With none of those kept,
// the copy is discarded. Result.Remember is marked once it is stored.
func (f *Filter) apply(ctx context.Context, env *delivery.Envelope, in *sieve.Input, res *sieve.Result, c *delivery.Copy) {
	var filings, fccs []delivery.Filing
	for _, a := range res.Actions {
		switch a := a.(type) {
		case sieve.Keep:
			filings = append(filings, delivery.Filing{Mailbox: c.Mailbox, Flags: imapFlags(a.Flags), Header: a.Header})
		case sieve.FileInto:
			filings = append(filings, f.fileInto(ctx, in, a))
		case sieve.Redirect:
			c.Forward = append(c.Forward, delivery.Forward{To: a.Address, Header: a.Header})
		case sieve.Reject:
			c.Reject = f.rejection(in, a)
		case sieve.Send:
			if a.Suppressed != "" {
				continue // a vacation not to be sent (RFC 5230 §4.5)
			}
			c.Send = append(c.Send, delivery.Outgoing{From: a.From, To: a.To, Message: a.Message})
			if a.Fcc != nil { // RFC 8580 §4: a copy of what is sent
				fcc := f.fileInto(ctx, in, *a.Fcc)
				fcc.Header, fcc.Message = nil, a.Message
				fccs = append(fccs, fcc)
			}
		case sieve.Discard:
		}
	}
	if c.Reject != nil {
		filings = nil // RFC 5429 §2.1: reject cancels the implicit keep; fileinto with it is refused at compile time
	}
	f.file(c, filings)
	c.Also = append(c.Also, fccs...)
	if len(res.Remember) > 0 {
		marks := make([]store.SieveMark, len(res.Remember))
		for i, m := range res.Remember {
			marks[i] = store.SieveMark{Key: m.Key, Expires: m.Expires}
		}
		account := c.Account
		c.Delivered = func(ctx context.Context) {
			if err := f.Store.MarkSieve(ctx, account.ID, marks); err != nil {
				f.log().Warn("sieve: cannot remember duplicates and replies", "account", account.Address, "err", err)
			}
		}
	}
}

// file puts the first filing in the copy and the others in Also.
func (f *Filter) file(c *delivery.Copy, filings []delivery.Filing) {
	if len(filings) == 0 {
		c.Discard = true
		return
	}
	first := filings[0]
	c.Mailbox, c.Flags, c.Header = first.Mailbox, first.Flags, first.Header
	c.Also = append(c.Also, filings[1:]...)
}

// fileInto resolves a fileinto's mailbox: the one of its :mailboxid
// (RFC 9042 §3) or :specialuse (RFC 8579 §4) when there is one, else its
// name (created when missing, as :create asks, RFC 5490 §3.1).
func (f *Filter) fileInto(ctx context.Context, in *sieve.Input, a sieve.FileInto) delivery.Filing {
	name := a.Mailbox
	if a.MailboxID != "" {
		if n, ok := in.Mailboxes.ByID(ctx, a.MailboxID); ok {
			name = n
		}
	} else if a.SpecialUse != "" {
		if n, ok := in.Mailboxes.SpecialUse(ctx, a.SpecialUse); ok {
			name = n
		}
	}
	if strings.EqualFold(name, "INBOX") {
		name = ""
	}
	return delivery.Filing{Mailbox: name, Flags: imapFlags(a.Flags), Header: a.Header}
}

// rejection is a reject's reply at SMTP time and the message to the
// sender when it cannot be given there (RFC 5429 §2.1, §2.1.1).
func (f *Filter) rejection(in *sieve.Input, a sieve.Reject) *delivery.Rejection {
	return &delivery.Rejection{
		Reply:  mail.Errorf(550, [3]int{5, 7, 1}, "%s", replyText(a.Reason)),
		Bounce: sieve.RejectMessage(in, a.Reason),
	}
}

// replyText makes a reject reason fit an SMTP reply line: one line of
// printable ASCII (RFC 5321 §4.2), at most 200 characters.
func replyText(reason string) string {
	var b strings.Builder
	space := false
	for _, r := range reason {
		switch {
		case r == '\r' || r == '\n' || r == '\t' || r == ' ':
			space = b.Len() > 0
			continue
		case r < 0x20 || r > 0x7e:
			r = '?'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if b.Len() >= 200 {
			break
		}
	}
	if b.Len() == 0 {
		return "Message rejected"
	}
	return b.String()
}

// imapFlags keeps the flags an IMAP client can be shown: system flags and
// keywords that are atoms (RFC 9051 §9 flag-keyword), as RFC 5232 §3
// asks of invalid ones.
func imapFlags(flags []string) []string {
	var out []string
	for _, fl := range flags {
		if validFlag(fl) {
			out = append(out, fl)
		}
	}
	return out
}

func validFlag(fl string) bool {
	name := strings.TrimPrefix(fl, `\`)
	if name == "" || len(fl) > 255 {
		return false
	}
	if name != fl {
		switch strings.ToLower(name) {
		case "seen", "answered", "flagged", "deleted", "draft":
			return true
		}
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte(`(){%*"\]`, ch) >= 0 {
			return false
		}
	}
	return true
}
