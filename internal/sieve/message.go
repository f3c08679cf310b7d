package sieve

import (
	"bytes"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message/charset"
)

// field is one header field: its name as written and its raw value
// (after the colon, folded lines kept).
type field struct {
	name string
	raw  string

	// Computed once per Run on first use (the raw value never changes).
	dec       string   // value, RFC 2047 decoded
	addrs     []string // the addresses in dec
	decDone   bool
	addrsDone bool
}

// value is the field's value unfolded and trimmed (RFC 5228 §5.7 works
// on values without the CRLF of folding).
func (f *field) value() string {
	v := f.raw
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(v)
	}
	return strings.Trim(v, " \t")
}

// message is the message a Run works on, read lazily.
type message struct {
	in     *Input
	parsed bool
	fields []*field
	body   []byte // the raw body, read on demand
	hdrLen int
	raw    []byte

	partsDone bool
	partList  []*mimePart
	bodies    map[string]*bodyText // body texts by transform
}

func newMessage(in *Input) *message { return &message{in: in} }

// all returns the whole message.
func (m *message) all() []byte {
	if m.raw == nil && m.in.Message != nil {
		b := make([]byte, m.in.Size)
		n, _ := m.in.Message.ReadAt(b, 0)
		m.raw = b[:n]
	}
	return m.raw
}

func (m *message) header() []*field {
	if !m.parsed {
		m.parsed = true
		m.fields, m.hdrLen = parseHeader(m.all())
	}
	return m.fields
}

func (m *message) bodyBytes() []byte {
	m.header()
	return m.all()[m.hdrLen:]
}

// parseHeader splits a header section into fields and returns where the
// body starts (after the empty line). The fields share one string and
// one array: a Run parses the header once, in a few allocations.
func parseHeader(b []byte) ([]*field, int) {
	end := headerEnd(b)
	h := string(b[:end])
	store := make([]field, 0, strings.Count(h, "\n")+1)
	var fields []*field
	for i := 0; i < len(h); {
		line, next := h[i:], len(h)
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line, next = line[:j], i+j+1
		}
		line = strings.TrimSuffix(line, "\r")
		if len(line) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			f := fields[len(fields)-1]
			f.raw += "\r\n" + line
		} else if c := strings.IndexByte(line, ':'); c > 0 {
			store = append(store, field{name: strings.TrimRight(line[:c], " \t"), raw: line[c+1:]})
			fields = append(fields, &store[len(store)-1])
		}
		i = next
	}
	return fields, end
}

// headerEnd is where the body starts: after the first empty line, or
// the end of b.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return len(b)
		}
		line := bytes.TrimSuffix(b[i:i+j], []byte("\r"))
		i += j + 1
		if len(line) == 0 {
			return i
		}
	}
	return len(b)
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeHeader decodes RFC 2047 encoded words.
func decodeHeader(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// headerValues returns the decoded values of the named fields.
func (x *exec) headerValues(names []string) []string {
	return fieldValues(x.fields(), names)
}

func fieldValues(fields []*field, names []string) []string {
	var out []string
	for _, f := range fields {
		for _, n := range names {
			if strings.EqualFold(f.name, n) {
				out = append(out, f.decoded())
				break
			}
		}
	}
	return out
}

// fields is the header as the script sees it now: as editheader left it.
func (x *exec) fields() []*field {
	if x.edited != nil {
		return x.edited
	}
	return x.msg.header()
}

var _ io.ReaderAt = (*bytes.Reader)(nil)
