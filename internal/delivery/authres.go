package delivery

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// maxFilteredField bounds one header field held by StripAuthResults; a
// longer one ends the filtering and passes through unchanged (it cannot
// be one of ours: we write short fields).
const maxFilteredField = 64 << 10

// StripAuthResults passes r through without the Authentication-Results
// header fields that claim authServID: RFC 8601 §5, a border MTA removes
// the results that carry its own authserv-id from mail coming in, since
// only it may write them. The body and every other byte pass unchanged,
// streamed, in one pass.
func StripAuthResults(r io.Reader, authServID string) io.Reader {
	if authServID == "" {
		return r
	}
	return &arFilter{br: bufio.NewReaderSize(r, 8<<10), id: strings.ToLower(authServID)}
}

type arFilter struct {
	br   *bufio.Reader
	id   string
	out  []byte // bytes ready to be read
	body bool   // past the header: pass through
	err  error
}

func (f *arFilter) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.body {
			return f.br.Read(p)
		}
		if f.err != nil {
			return 0, f.err
		}
		f.next()
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// next reads one header field with its continuation lines into out, or
// drops it when it is a forged Authentication-Results.
func (f *arFilter) next() {
	field, err := f.readField()
	f.err = err
	if isBlankLine(field) || len(field) > maxFilteredField || !startsField(field) {
		f.body = len(field) > 0 || err != nil // the end of the header, or not a header
		f.out = field
		return
	}
	if f.forged(field) {
		return
	}
	f.out = field
}

// readField reads a line and the continuation lines after it (RFC 5322
// §2.2.3), up to maxFilteredField bytes.
func (f *arFilter) readField() ([]byte, error) {
	var field []byte
	for {
		line, err := f.br.ReadSlice('\n')
		field = append(field, line...)
		if err == bufio.ErrBufferFull && len(field) <= maxFilteredField {
			continue
		}
		if err != nil || isBlankLine(field) || len(field) > maxFilteredField {
			if err == bufio.ErrBufferFull {
				err = nil
			}
			return field, err
		}
		if b, perr := f.br.Peek(1); perr != nil || (b[0] != ' ' && b[0] != '\t') {
			return field, nil
		}
	}
}

func isBlankLine(b []byte) bool {
	return len(b) <= 2 && len(bytes.TrimRight(b, "\r\n")) == 0 && len(b) > 0
}

// startsField reports whether b begins with a field name and a colon
// (RFC 5322 §3.6.8: printable ASCII but the colon).
func startsField(b []byte) bool {
	i := bytes.IndexByte(b, ':')
	if i <= 0 {
		return false
	}
	for _, c := range b[:i] {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// forged reports whether field is an Authentication-Results field whose
// authserv-id (RFC 8601 §2.2, before the first ";", an optional version
// after it) is ours.
func (f *arFilter) forged(field []byte) bool {
	name, value, _ := bytes.Cut(field, []byte{':'})
	if !strings.EqualFold(strings.TrimSpace(string(name)), "Authentication-Results") {
		return false
	}
	v := strings.ToLower(stripComments(string(value)))
	id, _, _ := strings.Cut(v, ";")
	fields := strings.Fields(id)
	return len(fields) > 0 && fields[0] == f.id
}

// stripComments removes RFC 5322 comments (nested parentheses, quoted
// pairs) from s.
func stripComments(s string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}
