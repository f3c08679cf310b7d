package fetch

import (
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxQuoted is the longest string sent quoted; longer ones are literals,
// which keeps response lines short for clients that limit them.
const maxQuoted = 1024

// appendString appends s as an IMAP string (RFC 9051 §4.3): a quoted string
// when s has no CR, LF or NUL and is ASCII (or valid UTF-8 when utf8ok, RFC
// 9051 §4.3 and RFC 6855 §3), else a literal. NUL bytes, allowed in neither,
// are dropped.
func appendString(b []byte, s string, utf8ok bool) []byte {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !quotable(s, utf8ok) {
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, "}\r\n"...)
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func quotable(s string, utf8ok bool) bool {
	if len(s) > maxQuoted {
		return false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return ascii || utf8ok && utf8.ValidString(s)
}

// appendNString appends s as an nstring: NIL when empty.
func appendNString(b []byte, s string, utf8ok bool) []byte {
	if s == "" {
		return append(b, "NIL"...)
	}
	return appendString(b, s, utf8ok)
}

// appendText appends text that package message has already decoded to
// UTF-8 (display names, parameter values). A client that has not enabled
// UTF-8 gets non-ASCII text back as RFC 2047 encoded-words, the form it
// knows how to decode; bytes that are not UTF-8 are sent as they are.
func appendText(b []byte, s string, utf8ok bool) []byte {
	if s == "" {
		return append(b, "NIL"...)
	}
	if !utf8ok && !isASCII(s) && utf8.ValidString(s) {
		s = mime.QEncoding.Encode("utf-8", s)
	}
	return appendString(b, s, utf8ok)
}

// appendAString appends s as an atom when it is made only of ATOM-CHARs
// (RFC 9051 §9), else as a string. ']' is quoted too: the result goes
// inside a section's brackets.
func appendAString(b []byte, s string) []byte {
	if s == "" {
		return append(b, `""`...)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return appendString(b, s, true)
		}
	}
	return append(b, s...)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
