package message

import (
	"mime"
	"strings"
)

// BodyText is the decoded text of the body, what IMAP SEARCH BODY looks
// in: Text without the top-level header values that start it.
func (p *Parsed) BodyText() string {
	if p.TextBodyStart <= 0 || p.TextBodyStart > len(p.Text) {
		return p.Text
	}
	return strings.TrimPrefix(p.Text[p.TextBodyStart:], "\n")
}

// HeaderText is the top-level header as SEARCH HEADER and TEXT see it: one
// "Name: value" line per field, values RFC 2047-decoded to UTF-8.
func (p *Parsed) HeaderText() string {
	var b strings.Builder
	for _, f := range p.Headers {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(strings.NewReplacer("\r", " ", "\n", " ").Replace(DecodeHeader(f.Value)))
		b.WriteByte('\n')
	}
	return b.String()
}

// DecodeHeader decodes the RFC 2047 encoded-words of a header value to
// UTF-8, keeping the raw value when that fails and unknown charsets as
// they are. The result is valid UTF-8.
func DecodeHeader(v string) string {
	return (&parser{dec: headerDecoder}).decodeWords(v)
}

var headerDecoder = &mime.WordDecoder{CharsetReader: charsetReader}
