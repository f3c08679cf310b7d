package fetch

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Section specifiers (RFC 9051 §6.4.5 section-text), as stored in
// Section.Specifier.
const (
	SpecHeader          = "HEADER"
	SpecHeaderFields    = "HEADER.FIELDS"
	SpecHeaderFieldsNot = "HEADER.FIELDS.NOT"
	SpecText            = "TEXT"
	SpecMIME            = "MIME"
)

// Section is a parsed BODY[...] or BINARY[...] section (RFC 9051 §6.4.5,
// RFC 3516 §4.2).
type Section struct {
	Path      []int    // part numbers, e.g. 1.2 → [1 2]; empty = whole message
	Specifier string   // "" or one of the Spec constants
	Fields    []string // for HEADER.FIELDS(.NOT), as the client sent them
	Partial   bool     // <Offset.Count> was given
	Offset    int64
	Count     int64
	Binary    bool // BINARY[...] (RFC 3516): content-transfer-decoded
}

// ParseSection parses spec, the text between '[' and ']' of BODY[...], and
// partial, the optional "<offset.count>" that follows (with or without its
// angle brackets; "" for none). It checks the grammar of RFC 9051 §9
// (section-spec, partial); whether HEADER or TEXT after a part number
// designates a message/rfc822 part is for Extract to say. Keywords are
// case-insensitive; header field names are astrings (atom, quoted string
// or literal). A count of 0 is accepted and gives an empty string.
func ParseSection(spec string, partial string) (Section, error) {
	var s Section
	rest, err := s.parsePath(spec)
	if err != nil {
		return Section{}, err
	}
	if rest != "" {
		if err := s.parseText(rest); err != nil {
			return Section{}, err
		}
	}
	if partial != "" {
		if err := s.parsePartial(partial); err != nil {
			return Section{}, err
		}
	}
	return s, nil
}

// ParseBinarySection parses the section of BINARY[...] or BINARY.SIZE[...]
// (RFC 3516 §4.2: section-binary = "[" [section-part] "]"): part numbers
// only.
func ParseBinarySection(spec string, partial string) (Section, error) {
	s, err := ParseSection(spec, partial)
	if err != nil {
		return Section{}, err
	}
	if s.Specifier != "" {
		return Section{}, fmt.Errorf("%w: BINARY takes part numbers only, not %s", ErrSyntax, s.Specifier)
	}
	s.Binary = true
	return s, nil
}

func syntaxError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}

// parsePath reads section-part: nz-number *("." nz-number), and the dot
// that separates it from a section-text. It returns what follows.
func (s *Section) parsePath(spec string) (string, error) {
	rest := spec
	for rest != "" && isDigit(rest[0]) {
		i := 0
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		n, err := strconv.ParseUint(rest[:i], 10, 32)
		if err != nil || n == 0 || rest[0] == '0' {
			return "", syntaxError("bad part number %q", rest[:i])
		}
		s.Path = append(s.Path, int(n))
		rest = rest[i:]
		if rest == "" {
			return "", nil
		}
		if rest[0] != '.' {
			return "", syntaxError("unexpected %q after part number", rest[0])
		}
		rest = rest[1:]
		if rest == "" {
			return "", syntaxError("section ends with '.'")
		}
	}
	return rest, nil
}

// parseText reads section-msgtext or "MIME".
func (s *Section) parseText(text string) error {
	kw, list := text, ""
	if i := strings.IndexAny(text, " ("); i >= 0 {
		kw, list = text[:i], text[i:]
	}
	s.Specifier = strings.ToUpper(kw)
	switch s.Specifier {
	case SpecHeader, SpecText:
	case SpecMIME:
		if len(s.Path) == 0 {
			return syntaxError("MIME needs a part number")
		}
	case SpecHeaderFields, SpecHeaderFieldsNot:
		fields, err := parseHeaderList(strings.TrimLeft(list, " "))
		if err != nil {
			return err
		}
		s.Fields = fields
		return nil
	default:
		return syntaxError("unknown section text %q", kw)
	}
	if list != "" {
		return syntaxError("unexpected %q after %s", list, s.Specifier)
	}
	return nil
}

// parseHeaderList reads header-list: "(" header-fld-name *(SP
// header-fld-name) ")", where header-fld-name is an astring.
func parseHeaderList(list string) ([]string, error) {
	rest, ok := strings.CutPrefix(list, "(")
	if !ok {
		return nil, syntaxError("HEADER.FIELDS needs a list of field names")
	}
	var fields []string
	for {
		rest = strings.TrimLeft(rest, " ")
		if strings.HasPrefix(rest, ")") {
			break
		}
		if rest == "" {
			return nil, syntaxError("unterminated field name list")
		}
		name, r, err := parseAString(rest)
		if err != nil {
			return nil, err
		}
		fields = append(fields, name)
		rest = r
		if rest != "" && rest[0] != ' ' && rest[0] != ')' {
			return nil, syntaxError("unexpected %q in field name list", rest[0])
		}
	}
	if len(fields) == 0 {
		return nil, syntaxError("empty field name list")
	}
	if rest != ")" {
		return nil, syntaxError("unexpected %q after field name list", rest[1:])
	}
	return fields, nil
}

// parseAString reads an astring (RFC 9051 §9) at the start of s: an atom
// (ASTRING-CHARs), a quoted string or a literal ("{n}" or "{n+}", CRLF,
// n bytes).
func parseAString(s string) (val, rest string, err error) {
	switch s[0] {
	case '"':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; c {
			case '"':
				return b.String(), s[i+1:], nil
			case '\\':
				if i+1 == len(s) || s[i+1] != '"' && s[i+1] != '\\' {
					return "", "", syntaxError("bad escape in quoted string")
				}
				i++
				b.WriteByte(s[i])
			case '\r', '\n', 0:
				return "", "", syntaxError("CR, LF or NUL in quoted string")
			default:
				b.WriteByte(c)
			}
		}
		return "", "", syntaxError("unterminated quoted string")
	case '{':
		end := strings.Index(s, "}\r\n")
		if end < 0 {
			return "", "", syntaxError("bad literal")
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(s[1:end], "+"), 10, 32)
		if err != nil || uint64(len(s)-end-3) < n {
			return "", "", syntaxError("bad literal")
		}
		start := end + 3
		val = s[start : start+int(n)]
		if strings.IndexByte(val, 0) >= 0 {
			return "", "", syntaxError("NUL in literal")
		}
		return val, s[start+int(n):], nil
	}
	i := 0
	for i < len(s) && isAStringChar(s[i]) {
		i++
	}
	if i == 0 {
		return "", "", syntaxError("unexpected %q in field name list", s[0])
	}
	return s[:i], s[i:], nil
}

// isAStringChar reports whether c is an ASTRING-CHAR (RFC 9051 §9).
func isAStringChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`(){%*"\`, c) < 0
}

// parsePartial reads partial (RFC 9051 §9): "<" number64 "." nz-number64
// ">".
func (s *Section) parsePartial(p string) error {
	if strings.HasPrefix(p, "<") {
		q, ok := strings.CutSuffix(p[1:], ">")
		if !ok {
			return syntaxError("bad partial %q", p)
		}
		p = q
	}
	o, c, ok := strings.Cut(p, ".")
	off, err1 := parseNumber64(o)
	cnt, err2 := parseNumber64(c)
	if !ok || err1 != nil || err2 != nil {
		return syntaxError("bad partial %q", p)
	}
	s.Partial, s.Offset, s.Count = true, off, cnt
	return nil
}

func parseNumber64(s string) (int64, error) {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, strconv.ErrSyntax
		}
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil || n > math.MaxInt64 {
		return 0, strconv.ErrRange
	}
	return int64(n), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Name renders the section as the FETCH response names it (RFC 9051
// §7.5.2), e.g. "BODY[1.2.HEADER.FIELDS (From To)]<0>" or "BINARY[1]":
// BODY.PEEK is answered as BODY, the partial echoes only the origin octet,
// and header field names are echoed as the client sent them (atoms where
// possible, else quoted). Echoing the client's spelling suits both clients
// that compare the response with their request byte for byte and those
// that compare case-insensitively.
func (s Section) Name() string {
	b := make([]byte, 0, 32)
	if s.Binary {
		b = append(b, "BINARY["...)
	} else {
		b = append(b, "BODY["...)
	}
	b = s.appendSpec(b)
	b = append(b, ']')
	if s.Partial {
		b = append(b, '<')
		b = strconv.AppendInt(b, s.Offset, 10)
		b = append(b, '>')
	}
	return string(b)
}

// String returns s.Name().
func (s Section) String() string { return s.Name() }

// appendSpec appends the text between the brackets.
func (s Section) appendSpec(b []byte) []byte {
	for i, n := range s.Path {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	if s.Specifier == "" {
		return b
	}
	if len(s.Path) > 0 {
		b = append(b, '.')
	}
	b = append(b, s.Specifier...)
	if s.Specifier == SpecHeaderFields || s.Specifier == SpecHeaderFieldsNot {
		b = append(b, " ("...)
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendAString(b, f)
		}
		b = append(b, ')')
	}
	return b
}

// SizeName renders the BINARY.SIZE item for the section's part (RFC 3516
// §4.2), e.g. "BINARY.SIZE[1.2]".
func (s Section) SizeName() string {
	return "BINARY.SIZE[" + string(Section{Path: s.Path}.appendSpec(nil)) + "]"
}
