package message

import (
	"sort"
	"strconv"
	"strings"
)

const (
	maxParams   = 100  // parameters kept per field
	maxSections = 1000 // RFC 2231 continuation sections per parameter
)

// parseContentType parses a Content-Type value (RFC 2045 §5.1). ok is false
// when the type or subtype is not a token.
func (p *parser) parseContentType(v string) (typ, sub string, params map[string]string, ok bool) {
	head, rest, _ := strings.Cut(stripComments(v), ";")
	typ, sub, found := strings.Cut(head, "/")
	typ = strings.ToLower(strings.TrimSpace(typ))
	sub = strings.ToLower(strings.TrimSpace(sub))
	if !found || !isToken(typ) || !isToken(sub) {
		return "", "", nil, false
	}
	return typ, sub, p.parseParams(rest), true
}

// parseDisposition parses a Content-Disposition value (RFC 2183 §2).
func (p *parser) parseDisposition(v string) (string, map[string]string) {
	head, rest, _ := strings.Cut(stripComments(v), ";")
	disp := strings.ToLower(strings.TrimSpace(head))
	if !isToken(disp) {
		disp = ""
	}
	return disp, p.parseParams(rest)
}

// section is one piece of an RFC 2231 parameter value.
type section struct {
	val      string
	extended bool // percent-encoded, the first one with charset'language'
}

// parseParams parses "; name=value" pairs leniently: names are lowercased,
// the first occurrence wins, RFC 2231 continuations and charsets are
// decoded (and win over a plain value of the same name), and RFC 2047
// encoded-words in name and filename, a common violation, are decoded.
func (p *parser) parseParams(s string) map[string]string {
	plain := map[string]string{}
	split := map[string]map[int]section{}
	for n := 0; s != "" && n < maxParams; n++ {
		var name, val string
		name, val, s = nextParam(s)
		if name == "" {
			continue
		}
		base, idx, ext, isSplit := splitParamName(name)
		switch {
		case !isSplit:
			if _, dup := plain[name]; !dup {
				plain[name] = val
			}
		case idx >= 0:
			if split[base] == nil {
				split[base] = map[int]section{}
			}
			if _, dup := split[base][idx]; !dup {
				split[base][idx] = section{val, ext}
			}
		}
	}
	for name, secs := range split {
		plain[name] = joinSections(secs)
	}
	for _, name := range []string{"name", "filename"} {
		if v, ok := plain[name]; ok && strings.Contains(v, "=?") {
			plain[name] = p.decodeWords(v)
		}
	}
	if len(plain) == 0 {
		return nil
	}
	return plain
}

// nextParam cuts the next parameter off s. It always consumes something.
func nextParam(s string) (name, val, rest string) {
	s = strings.TrimLeft(s, " \t;")
	i := strings.IndexAny(s, "=;")
	if i < 0 {
		return "", "", ""
	}
	if s[i] == ';' {
		return "", "", s[i+1:]
	}
	name = strings.ToLower(strings.TrimSpace(s[:i]))
	s = strings.TrimLeft(s[i+1:], " \t")
	quoted := strings.HasPrefix(s, `"`)
	if quoted {
		val, s = unquote(s)
	}
	j := strings.IndexByte(s, ';')
	if j < 0 {
		j = len(s)
	}
	if !quoted {
		val = strings.TrimSpace(s[:j])
	}
	if j < len(s) {
		j++
	}
	return name, val, s[j:]
}

// unquote reads a quoted-string (RFC 5322 §3.2.4) at the start of s and
// returns its content and what follows. An unterminated string runs to the
// end.
func unquote(s string) (val, rest string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:]
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// splitParamName recognises RFC 2231 names: "name*" (extended, one
// section), "name*N" and "name*N*". idx is -1 for an invalid section number.
func splitParamName(name string) (base string, idx int, ext, isSplit bool) {
	star := strings.IndexByte(name, '*')
	if star < 0 {
		return name, 0, false, false
	}
	base, sfx := name[:star], name[star+1:]
	if sfx == "" {
		return base, 0, true, true
	}
	sfx, ext = strings.CutSuffix(sfx, "*")
	n, err := strconv.Atoi(sfx)
	if err != nil || n < 0 || n >= maxSections || base == "" {
		return base, -1, false, true
	}
	return base, n, ext, true
}

// joinSections reassembles an RFC 2231 value: sections in order from 0 up
// to the first gap (§3), percent-decoded where extended and converted from
// the charset named in the first section (§4).
func joinSections(secs map[int]section) string {
	idx := make([]int, 0, len(secs))
	for i := range secs {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var cs string
	var b []byte
	for want, i := range idx {
		if i != want {
			break
		}
		sec := secs[i]
		v := sec.val
		if i == 0 && sec.extended {
			if parts := strings.SplitN(v, "'", 3); len(parts) == 3 {
				cs, v = parts[0], parts[2]
			}
		}
		if sec.extended {
			b = append(b, percentDecode(v)...)
		} else {
			b = append(b, v...)
		}
	}
	return toUTF8(b, cs)
}

func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return b
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// isToken reports whether s is an RFC 2045 §5.1 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// stripComments removes RFC 5322 §3.2.2 comments outside quoted strings.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (quoted || depth > 0) && i+1 < len(s):
			if depth == 0 {
				b.WriteString(s[i : i+2])
			}
			i++
			continue
		case depth == 0 && c == '"':
			quoted = !quoted
		case !quoted && c == '(':
			depth++
			continue
		case depth > 0 && c == ')':
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}
