package message

import "strings"

// What IMAP SEARCH compares in a header field (RFC 9051 §6.4.4). FROM, TO,
// CC and BCC name "the envelope structure's" field, so an address field
// is matched as its address list as well as its text, as Dovecot does:
// "<user (comment)@ (comment) example.org>" is found by
// "user@example.org", an encoded-word display name by its decoded text.
// The text itself still counts, for what the address list leaves out
// (comments, which some mailers use as the display name:
// "user@example.org (Real Name)").

// IsAddressField reports whether a header field holds an address list
// that SEARCH matches as addresses: those of the envelope.
func IsAddressField(name string) bool {
	switch strings.ToLower(name) {
	case "from", "sender", "reply-to", "to", "cc", "bcc":
		return true
	}
	return false
}

// AddressText writes the address list of a raw field value the way SEARCH
// sees it: `Name <mailbox@host>` (a bare `mailbox@host` without a display
// name), display names RFC 2047-decoded, separated by ", ", a group as
// `name: member, member;`. It is valid UTF-8, on one line.
func AddressText(value string) string {
	var b strings.Builder
	sep := ""
	for _, a := range parseAddressList(value, decodeDisplayName) {
		switch {
		case a.IsGroupEnd():
			b.WriteByte(';')
			sep = ", "
			continue
		case a.IsGroupStart():
			b.WriteString(sep + a.Mailbox + ":")
			sep = " "
			continue
		}
		b.WriteString(sep)
		sep = ", "
		spec := a.Mailbox
		if a.Host != missingHost {
			spec += "@" + a.Host
		}
		if a.Name == "" {
			b.WriteString(spec)
			continue
		}
		b.WriteString(a.Name + " <" + spec + ">")
	}
	return oneLine.Replace(validUTF8(b.String()))
}

func decodeDisplayName(s string) string { return strings.TrimSpace(DecodeHeader(s)) }

// oneLine puts a decoded value on one line, as HeaderText does.
var oneLine = strings.NewReplacer("\r", " ", "\n", " ")

// FieldContains reports whether SEARCH HEADER name needle (or FROM, TO …)
// matches a field with this raw value: its RFC 2047-decoded text, or for
// an address field its AddressText, contains needle, compared as the
// text index compares (Unicode lower case). An empty needle matches.
func FieldContains(name, value, needle string) bool {
	needle = strings.ToLower(needle)
	if strings.Contains(strings.ToLower(oneLine.Replace(DecodeHeader(value))), needle) {
		return true
	}
	return IsAddressField(name) && strings.Contains(strings.ToLower(AddressText(value)), needle)
}

// SearchHeaderText is HeaderText with, after it, an extra "Name: value"
// line for each address field whose AddressText differs from its text:
// what a text index stores so that matching a field's lines in it is
// FieldContains.
func (p *Parsed) SearchHeaderText() string {
	var b strings.Builder
	b.WriteString(p.HeaderText())
	for _, f := range p.Headers {
		if !IsAddressField(f.Name) {
			continue
		}
		if a := AddressText(f.Value); a != oneLine.Replace(DecodeHeader(f.Value)) {
			b.WriteString(f.Name + ": " + a + "\n")
		}
	}
	return b.String()
}
