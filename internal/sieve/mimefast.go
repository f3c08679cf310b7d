package sieve

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"
)

// singlePart is mimeParts for the usual message that is one part, not
// multipart, with no transfer encoding and no charset to convert (RFC
// 2045 §6.1, RFC 2046 §4.1.2): its body is the raw body, so go-message
// need not read it again. ok is false when the message is not that
// simple or its header not plain enough to be sure go-message would
// read it alike; mimeParts then parses it.
func (m *message) singlePart() (*mimePart, bool) {
	raw := m.all()
	fields := m.header()
	body := raw[m.hdrLen:]
	if len(body) == 0 || len(body) > 16<<20 || !plainHeader(raw[:m.hdrLen]) {
		return nil, false
	}
	p := &mimePart{ctype: "text/plain", parent: -1} // RFC 2045 §5.2
	var ct, cte *field
	for _, f := range fields {
		switch {
		case ct == nil && strings.EqualFold(f.name, "Content-Type"):
			ct = f
		case cte == nil && strings.EqualFold(f.name, "Content-Transfer-Encoding"):
			cte = f
		}
	}
	if cte != nil {
		switch strings.ToLower(cte.value()) {
		case "", "7bit", "8bit", "binary":
		default:
			return nil, false
		}
	}
	if ct != nil {
		t, params, err := mime.ParseMediaType(ct.value())
		if err != nil || strings.Count(t, "/") != 1 || strings.HasPrefix(t, "multipart/") || !identityCharset(t, params, body) {
			return nil, false
		}
		p.ctype, p.params = t, params
	}
	p.header = fields // read only, as the parts' headers are
	p.body = string(body)
	return p, true
}

// identityCharset: the body needs no conversion to UTF-8.
func identityCharset(t string, params map[string]string, body []byte) bool {
	cs, ok := params["charset"]
	if !ok || !strings.HasPrefix(t, "text/") {
		return true
	}
	switch strings.ToLower(cs) {
	case "utf-8":
		return utf8.Valid(body)
	case "us-ascii":
		return isASCII(string(body))
	}
	return false
}

// plainHeader: every field is "name:value" with a valid name, and a
// folded header uses CRLF throughout, so that the fields go-message would
// read are the ones parseHeader read, byte for byte.
func plainHeader(h []byte) bool {
	folded, bare := false, false
	for len(h) > 0 {
		i := bytes.IndexByte(h, '\n')
		if i < 0 {
			return false
		}
		line := h[:i]
		h = h[i+1:]
		if l := len(line); l > 0 && line[l-1] == '\r' {
			line = line[:l-1]
		} else {
			bare = true
		}
		switch {
		case len(line) == 0:
			return len(h) == 0 && !(folded && bare)
		case line[0] == ' ' || line[0] == '\t':
			folded = true
		default:
			c := bytes.IndexByte(line, ':')
			if c <= 0 || !validFieldName(string(line[:c])) {
				return false
			}
		}
	}
	return false
}
