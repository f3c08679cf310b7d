package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeEncoded decodes ${hex:…} and ${unicode:…} (RFC 5228 §2.4.2.4);
// malformed sequences stay as written.
func (c *checker) decodeEncoded(at pos, s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return substitute(s, func(inner string) (string, bool) { return c.decodeOne(at, inner) })
}

func (c *checker) decodeOne(at pos, inner string) (string, bool) {
	kind, rest, ok := strings.Cut(inner, ":")
	if !ok {
		return "", false
	}
	kind = strings.ToLower(kind)
	if kind != "hex" && kind != "unicode" {
		return "", false
	}
	if strings.TrimSpace(rest) == "" {
		return "", false // RFC 5228 §2.4.2.4: at least one value
	}
	var b strings.Builder
	for _, f := range strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }) {
		if kind == "hex" {
			if len(f) > 2 {
				f = strings.TrimLeft(f, "0")
				if len(f) < 2 {
					f = "0" + f
				}
			}
			v, err := strconv.ParseUint(f, 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(v))
			continue
		}
		if !isHex(f) {
			return "", false
		}
		v, err := strconv.ParseUint(f, 16, 64)
		if err != nil || v > 0x10ffff || v >= 0xd800 && v <= 0xdfff {
			c.errorf(at, "invalid unicode character 0x"+f+" in encoded character substitution")
			return "", false
		}
		b.WriteRune(rune(v))
	}
	if kind == "hex" && rest != "" && !utf8.ValidString(b.String()) {
		return b.String(), true
	}
	return b.String(), true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && (s[i]|0x20 < 'a' || s[i]|0x20 > 'f') {
			return false
		}
	}
	return s != ""
}
