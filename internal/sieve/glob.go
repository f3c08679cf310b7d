package sieve

import (
	"strings"
	"unicode/utf8"
)

// The :matches match type without regular expressions (RFC 5228
// §2.7.1): "*" matches any run of characters, "?" one character, "\"
// escapes the next character. Each "*" matches as little as possible
// (RFC 5229 §3.2), the match variables being the wildcards' texts.
//
// globMatch handles ASCII keys and values (the usual case); other
// strings go through globToRegexp, whose case folding and UTF-8
// handling are the regexp package's.

// globable reports whether globMatch can match key against v with the
// comparator's semantics.
func globable(cmp comparator, key, v string) bool {
	return (cmp == cmpOctet || cmp == cmpASCIICasemap || cmp == cmpUnicodeCasemap) && isASCII(key) && isASCII(v)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// globCost is the length of globToRegexp's pattern for key (with the
// case-insensitive flag when fold), so that maxMatchCost bounds a glob
// match as it bounds the regexp.
func globCost(key string, fold bool) int {
	n := len("(?s)^$")
	if fold {
		n += len("(?i)")
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch c {
		case '*':
			n += len("(.*?)")
			continue
		case '?':
			n += len("(.)")
			continue
		case '\\':
			if i+1 < len(key) {
				i++
				c = key[i]
			}
		}
		n++
		if isRegexpMeta(c) {
			n++
		}
	}
	return n
}

func isRegexpMeta(c byte) bool {
	switch c {
	case '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$':
		return true
	}
	return false
}

// globMatch matches the whole of v against the pattern p, folding ASCII
// case when fold. caps, when not nil, receives the start and end of each
// wildcard's text (two ints per wildcard); it is returned resliced.
//
// Only the last "*" seen is ever extended: matching each literal run at
// its earliest position keeps a match when there is one, and that is the
// assignment where every "*" is as short as possible, in order.
func globMatch(p, v string, fold bool, caps []int) ([]int, bool) {
	caps = caps[:0]
	pi, vi := 0, 0
	starP, starV, starCaps := -1, 0, 0
	for pi < len(p) || vi < len(v) {
		if pi < len(p) {
			switch c := p[pi]; c {
			case '*':
				caps = append(caps, vi, vi)
				pi++
				starP, starV, starCaps = pi, vi, len(caps)
				continue
			case '?':
				if vi < len(v) {
					caps = append(caps, vi, vi+1)
					pi++
					vi++
					continue
				}
			default:
				w := 1
				if c == '\\' && pi+1 < len(p) {
					c, w = p[pi+1], 2
				}
				if vi < len(v) && sameByte(c, v[vi], fold) {
					pi += w
					vi++
					continue
				}
			}
		}
		// A mismatch: the last "*" takes one more character.
		if starP < 0 || starV >= len(v) {
			return caps, false
		}
		starV++
		caps = caps[:starCaps]
		caps[starCaps-1] = starV
		pi, vi = starP, starV
	}
	return caps, true
}

func sameByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	return fold && lowerByte(a) == lowerByte(b)
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// compareFold is i;ascii-casemap's ordering (RFC 4790 §9.2): octets
// compared with ASCII letters in lower case, without allocating.
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if ca, cb := lowerByte(a[i]), lowerByte(b[i]); ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// containsFold reports whether v contains k, ASCII case folded. It
// looks for k's first byte in either case with IndexByte, which is fast.
func containsFold(v, k string) bool {
	if k == "" {
		return true
	}
	lo, up := lowerByte(k[0]), upperByte(k[0])
	for i := 0; i+len(k) <= len(v); i++ {
		j := nextOf(v[i:len(v)-len(k)+1], lo, up)
		if j < 0 {
			return false
		}
		i += j
		if compareFold(v[i+1:i+len(k)], k[1:]) == 0 {
			return true
		}
	}
	return false
}

// nextOf is the index of the first a or b in s, -1 if none.
func nextOf(s string, a, b byte) int {
	i := strings.IndexByte(s, a)
	if a == b {
		return i
	}
	if i >= 0 {
		s = s[:i] // b only matters before the first a
	}
	if j := strings.IndexByte(s, b); j >= 0 {
		return j
	}
	return i
}

func upperByte(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
