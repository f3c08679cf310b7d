package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// casemapKey prepares s for the i;unicode-casemap collation (RFC 5051 §2),
// which SORT compares strings with (RFC 5256 §2.2, RFC 5957 §3): each
// character is replaced by its titlecase mapping and its decomposition,
// over and over until neither changes it, giving the "titlecased
// canonicalized UTF-8" string. Two prepared strings compare as octets
// (i;octet, so strings.Compare). Invalid UTF-8 becomes U+FFFD.
//
// Titlecase is the simple mapping of UnicodeData.txt (unicode.ToTitle), and
// the decomposition the full compatibility one (NFKD of the character
// alone, which also splits Hangul syllables into jamo, as Dovecot does).
// Titlecasing makes letters sort as capitals: "[", "_" sort after "c".
func casemapKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii { // titlecase of ASCII is uppercase; nothing decomposes
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		casemapRune(&b, r, 0)
	}
	return b.String()
}

// casemapRune writes r titlecased and decomposed. Decompositions are a few
// levels deep at most; depth only guards against a table that loops.
func casemapRune(b *strings.Builder, r rune, depth int) {
	t := unicode.ToTitle(r)
	if t < utf8.RuneSelf || depth > 8 {
		b.WriteRune(t)
		return
	}
	var buf [utf8.UTFMax]byte
	one := buf[:utf8.EncodeRune(buf[:], t)]
	if norm.NFKD.IsNormal(one) {
		b.WriteRune(t)
		return
	}
	for _, d := range string(norm.NFKD.Bytes(one)) {
		if d == t {
			b.WriteRune(d)
		} else {
			casemapRune(b, d, depth+1)
		}
	}
}
