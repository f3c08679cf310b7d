package imapwire

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
)

// Modified UTF-7 for mailbox names in IMAP4rev1 (RFC 3501 §5.1.3):
// printable US-ASCII stands for itself, except "&", written "&-"; other
// characters are UTF-16 in modified BASE64 ("," for "/", no padding)
// between "&" and "-".

var mutf7Base64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").
	WithPadding(base64.NoPadding).Strict()

// ErrMUTF7 is returned by DecodeMUTF7 for a malformed name.
var ErrMUTF7 = errors.New("imapwire: invalid modified UTF-7")

// EncodeMUTF7 encodes a UTF-8 mailbox name in modified UTF-7. Invalid
// UTF-8 is encoded as U+FFFD.
func EncodeMUTF7(s string) string {
	var b strings.Builder
	var units []uint16
	flush := func() {
		if len(units) == 0 {
			return
		}
		raw := make([]byte, 0, 2*len(units))
		for _, u := range units {
			raw = append(raw, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		b.WriteString(mutf7Base64.EncodeToString(raw))
		b.WriteByte('-')
		units = units[:0]
	}
	for _, r := range s {
		if 0x20 <= r && r <= 0x7e {
			flush()
			b.WriteRune(r)
			if r == '&' {
				b.WriteByte('-')
			}
			continue
		}
		units = utf16.AppendRune(units, r)
	}
	flush()
	return b.String()
}

// DecodeMUTF7 decodes a modified UTF-7 mailbox name to UTF-8. It accepts
// only the canonical encoding, so EncodeMUTF7 gives back the input: it
// refuses bytes outside printable US-ASCII, an unterminated or empty
// shift ("&" alone, "&-" is "&"), characters outside the modified BASE64
// alphabet, non-zero padding bits, odd-length or unpaired-surrogate
// UTF-16, printable US-ASCII inside a shift, and a shift right after
// another (they must be merged).
func DecodeMUTF7(s string) (string, error) {
	var b strings.Builder
	afterShift := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrMUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			afterShift = false
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", ErrMUTF7
		}
		enc := s[i+1 : i+1+j]
		i += j + 2
		if enc == "" {
			b.WriteByte('&')
			afterShift = false
			continue
		}
		if afterShift {
			return "", ErrMUTF7
		}
		afterShift = true
		if err := decodeShift(&b, enc); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func decodeShift(b *strings.Builder, enc string) error {
	for k := 0; k < len(enc); k++ {
		c := enc[k]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == ',') {
			return ErrMUTF7 // also keeps the base64 decoder from skipping CR and LF
		}
	}
	raw, err := mutf7Base64.DecodeString(enc)
	if err != nil || len(raw)%2 != 0 {
		return ErrMUTF7
	}
	for k := 0; k < len(raw); k += 2 {
		u := rune(raw[k])<<8 | rune(raw[k+1])
		switch {
		case 0xd800 <= u && u < 0xdc00:
			if k+3 >= len(raw) {
				return ErrMUTF7
			}
			u2 := rune(raw[k+2])<<8 | rune(raw[k+3])
			if u2 < 0xdc00 || u2 > 0xdfff {
				return ErrMUTF7
			}
			u = utf16.DecodeRune(u, u2)
			k += 2
		case 0xdc00 <= u && u <= 0xdfff:
			return ErrMUTF7
		case 0x20 <= u && u <= 0x7e:
			return ErrMUTF7 // must be written directly
		}
		b.WriteRune(u)
	}
	return nil
}
