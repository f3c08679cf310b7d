package message

import (
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

const maxIDs = 1000 // message IDs kept per field

// envelope builds the IMAP ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2)
// from a header. The first field of each name counts.
func (p *parser) envelope(h []HeaderField) *Envelope {
	addrs := func(name string) []Address {
		return parseAddressList(get(h, name), p.decodeName)
	}
	e := &Envelope{
		Date:      get(h, "Date"),
		Subject:   get(h, "Subject"),
		From:      addrs("From"),
		Sender:    addrs("Sender"),
		ReplyTo:   addrs("Reply-To"),
		To:        addrs("To"),
		Cc:        addrs("Cc"),
		Bcc:       addrs("Bcc"),
		InReplyTo: get(h, "In-Reply-To"),
		MessageID: get(h, "Message-ID"),
	}
	// RFC 3501 §7.4.2: absent or empty Sender and Reply-To take From.
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}

// topHeader fills what Parsed derives from the top-level header.
func (p *parser) topHeader(out *Parsed, h []HeaderField) {
	out.Headers = h
	out.Envelope = *p.envelope(h)
	e := &out.Envelope
	if ids := msgIDs(get(h, "Message-ID")); len(ids) > 0 {
		out.MessageID = ids[0]
	}
	out.InReplyTo = msgIDs(get(h, "In-Reply-To"))
	out.References = msgIDs(get(h, "References"))
	out.SentDate = parseDate(e.Date)
	out.BaseSubject, out.SubjectIsReply = baseSubject(p.decodeWords(e.Subject))
	// Sort keys are compared as UTF-8 (RFC 5256 §2.2, RFC 5957 §3).
	out.SortFrom, out.SortTo, out.SortCc = sortMailbox(e.From), sortMailbox(e.To), sortMailbox(e.Cc)
	out.DisplayFrom, out.DisplayTo = displayAddress(e.From), displayAddress(e.To)
	p.headerText(h)
}

// headerText adds the decoded header values SEARCH looks at to Text.
func (p *parser) headerText(h []HeaderField) {
	for _, name := range []string{"Subject", "From", "To", "Cc"} {
		if v := get(h, name); v != "" {
			p.text.add(p.decodeWords(v))
		}
	}
}

// sortMailbox is the SORT FROM/TO/CC key: the addr-mailbox of the first
// address (RFC 5256 §3). A group's first "address" is its start marker,
// whose mailbox is the group name: Dovecot sorts on that name, so
// "Cc: team: a@x;" sorts as "team", and so does this.
func sortMailbox(list []Address) string {
	if len(list) == 0 {
		return ""
	}
	return validUTF8(list[0].Mailbox)
}

// displayAddress is the SORT DISPLAYFROM/DISPLAYTO key (RFC 5957 §2): the
// display name of the first address, or its addr-spec if it has none; for
// a group (as with sortMailbox), the group name.
func displayAddress(list []Address) string {
	if len(list) == 0 {
		return ""
	}
	switch a := list[0]; {
	case a.Name != "":
		return a.Name
	case a.Host == "" || a.Host == missingHost:
		return validUTF8(a.Mailbox)
	default:
		return validUTF8(a.Mailbox + "@" + a.Host)
	}
}

// msgIDs extracts msg-ids (RFC 5322 §3.6.4) without their angle brackets,
// in order, white space removed, for RFC 5256 §3 threading. A field without
// any "<…>" falls back to its words that contain an '@'.
func msgIDs(v string) []string {
	v = stripComments(v)
	var ids []string
	for rest := v; len(ids) < maxIDs; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.Join(strings.Fields(rest[i+1:i+j]), ""); id != "" {
			ids = append(ids, id)
		}
		rest = rest[i+j+1:]
	}
	if len(ids) > 0 {
		return ids
	}
	for _, w := range strings.Fields(v) {
		if w = strings.Trim(w, "<>\"',;"); strings.Contains(w, "@") && len(ids) < maxIDs {
			ids = append(ids, w)
		}
	}
	return ids
}

// parseDate parses a Date field (RFC 5322 §3.3) leniently. The result is
// zero if nothing fits, and always representable in JSON.
func parseDate(v string) time.Time {
	v = strings.Join(strings.Fields(stripComments(v)), " ")
	if v == "" {
		return time.Time{}
	}
	// Layouts seen in the wild that net/mail rejects.
	fallbacks := [...]string{
		time.RFC1123Z, time.RFC1123, time.UnixDate, time.ANSIC, time.RFC3339,
		"Mon, 2 Jan 2006 15:04:05", "2 Jan 2006 15:04:05", "Mon, 2 Jan 2006 15:04",
	}
	t, err := mail.ParseDate(v)
	for _, layout := range fallbacks {
		if err == nil {
			break
		}
		t, err = time.Parse(layout, v)
	}
	if err != nil {
		return time.Time{}
	}
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		t = t.UTC()
	}
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}
	}
	return t
}

// decodeWords decodes RFC 2047 encoded-words to UTF-8; on failure it keeps
// the raw text. The result is valid UTF-8.
func (p *parser) decodeWords(s string) string {
	if strings.Contains(s, "=?") {
		if d, err := p.dec.DecodeHeader(s); err == nil {
			s = d
		}
	}
	return validUTF8(s)
}

// decodeName decodes a display name or group name.
func (p *parser) decodeName(s string) string {
	return strings.TrimSpace(p.decodeWords(s))
}

// charsetReader converts from a MIME charset to UTF-8. Unknown charsets
// are passed through raw rather than failing.
func charsetReader(cs string, r io.Reader) (io.Reader, error) {
	if cr, err := charset.Reader(cs, r); err == nil {
		return cr, nil
	}
	return r, nil
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
