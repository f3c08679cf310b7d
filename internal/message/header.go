package message

import (
	"bytes"
	"strings"
)

const (
	headerBudget   = 16 << 20 // header bytes kept at MaxFieldSize per field, per message
	smallFieldSize = 256      // per-field cap once headerBudget is spent
)

// fieldBuilder accumulates one header block.
type fieldBuilder struct {
	fields []HeaderField
	name   string
	val    []byte
	open   bool // a field is being built
	limit  int  // bytes kept of val
}

// readHeader reads a header block (RFC 5322 §2.2) from the current line up
// to and including the empty line that ends it. It also ends, without
// consuming the line, at a boundary line or at a line that is neither a
// field nor a continuation: the body starts there.
func (p *parser) readHeader() []HeaderField {
	s := p.s
	var fb fieldBuilder
	p.stray = false
	for !s.eof() {
		if s.bol {
			if s.blank() {
				s.advance()
				break
			}
			if _, _, ok := p.boundary(); ok {
				break
			}
			if !p.headerLine(&fb, s.line) {
				p.stray = true
				break
			}
		} else if fb.open {
			fb.add(s.line) // the rest of a line longer than the buffer
		}
		s.advance()
	}
	p.flush(&fb)
	return fb.fields
}

// headerLine handles a line that starts a header line and reports whether
// it belongs to the header.
func (p *parser) headerLine(fb *fieldBuilder, line []byte) bool {
	if line[0] == ' ' || line[0] == '\t' {
		// RFC 5322 §2.2.3: a continuation of the previous field.
		if len(fb.fields) == 0 && !fb.open {
			return false
		}
		fb.add(line)
		return true
	}
	name, rest, ok := splitField(line)
	if !ok {
		return false
	}
	p.flush(fb)
	if len(fb.fields) < MaxHeaderFields {
		fb.name, fb.val, fb.open = string(name), fb.val[:0], true
		fb.limit = MaxFieldSize
		if p.budget <= 0 {
			fb.limit = smallFieldSize
		}
		fb.add(bytes.TrimLeft(rest, " \t"))
	}
	return true
}

// splitField splits "Name: value" (RFC 5322 §2.2; obsolete white space
// before the colon, §4.5, is accepted).
func splitField(line []byte) (name, rest []byte, ok bool) {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return nil, nil, false
	}
	j := i
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	if j == len(line) || line[j] != ':' {
		return nil, nil, false
	}
	return line[:i], line[j+1:], true
}

// add appends a line fragment to the open field, without its line break:
// unfolding is removing the CRLF (RFC 5322 §2.2.3).
func (fb *fieldBuilder) add(b []byte) {
	if !fb.open {
		return
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	fb.val = appendCapped(fb.val, b, fb.limit)
}

func (p *parser) flush(fb *fieldBuilder) {
	if !fb.open {
		return
	}
	v := string(bytes.Trim(fb.val, " \t\r\n"))
	fb.fields = append(fb.fields, HeaderField{Name: fb.name, Value: v})
	p.budget -= len(fb.name) + len(v)
	fb.open = false
}

// lookup returns the value of the first field called name.
func lookup(h []HeaderField, name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

func get(h []HeaderField, name string) string {
	v, _ := lookup(h, name)
	return v
}

// describe fills the BODYSTRUCTURE fields of part from its header
// (RFC 3501 §7.4.2 body-fields and body-ext-1part).
func (p *parser) describe(part *Part, h []HeaderField, digest bool) {
	p.contentType(part, h, digest)
	part.Encoding = "7BIT" // RFC 2045 §6.1
	if v := firstToken(stripComments(get(h, "Content-Transfer-Encoding"))); v != "" {
		part.Encoding = strings.ToUpper(v)
	}
	if v, ok := lookup(h, "Content-Disposition"); ok {
		part.Disposition, part.DispositionParams = p.parseDisposition(v)
	}
	part.Language = languages(get(h, "Content-Language"))
	part.ID = get(h, "Content-ID")
	part.Description = get(h, "Content-Description")
	part.Location = get(h, "Content-Location")
	part.MD5 = get(h, "Content-MD5")
}

// contentType applies the Content-Type field or its default: text/plain;
// charset=us-ascii (RFC 2045 §5.2), message/rfc822 in a multipart/digest
// (RFC 2046 §5.1.5). An invalid field counts as absent (RFC 2045 §5.2).
func (p *parser) contentType(part *Part, h []HeaderField, digest bool) {
	if v, found := lookup(h, "Content-Type"); found {
		var ok bool
		part.Type, part.Subtype, part.Params, ok = p.parseContentType(v)
		if ok {
			return
		}
	}
	if digest {
		part.Type, part.Subtype, part.Params = "message", "rfc822", nil
		return
	}
	part.Type, part.Subtype = "text", "plain"
	part.Params = map[string]string{"charset": "us-ascii"}
}

// languages splits Content-Language (RFC 3282 §2).
func languages(v string) []string {
	var out []string
	for _, l := range strings.Split(stripComments(v), ",") {
		if l = strings.TrimSpace(l); l != "" && len(out) < maxParams {
			out = append(out, l)
		}
	}
	return out
}

// firstToken returns the first run of non-space characters before any ';'.
func firstToken(v string) string {
	v, _, _ = strings.Cut(v, ";")
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return ""
}
