package sieve

import (
	"strings"
)

// Token kinds of the RFC 5228 §8.1 lexical grammar.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tTag
	tNumber
	tString
	tPunct // one of [ ] ( ) { } , ;
	tBad
)

// Lexer limits, as Pigeonhole's (identifiers of at most 32 bytes).
const maxIdentLen = 32

type token struct {
	kind tokKind
	pos  pos
	text string // identifier, tag (without ':'), string value, punctuation
	num  uint64
}

type pos struct{ line, col int }

type lexer struct {
	src       []byte
	i         int
	line, col int
	errs      *ErrorList
}

func newLexer(src []byte, errs *ErrorList) *lexer {
	return &lexer{src: src, line: 1, col: 1, errs: errs}
}

func (l *lexer) errorf(p pos, msg string) {
	*l.errs = append(*l.errs, &Error{Line: p.line, Column: p.col, Msg: msg})
}

func (l *lexer) peekc(off int) byte {
	if l.i+off < len(l.src) {
		return l.src[l.i+off]
	}
	return 0
}

func (l *lexer) adv() byte {
	c := l.src[l.i]
	l.i++
	if c == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	return c
}

func (l *lexer) here() pos { return pos{l.line, l.col} }

// skipSpace skips white space and comments (RFC 5228 §8.1).
func (l *lexer) skipSpace() {
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.adv()
		case c == '#':
			for l.i < len(l.src) && l.src[l.i] != '\n' {
				l.adv()
			}
		case c == '/' && l.peekc(1) == '*':
			p := l.here()
			l.adv()
			l.adv()
			for {
				if l.i >= len(l.src) {
					l.errorf(p, "end of file before end of bracket comment ('/* ... */') started at line "+itoa(p.line))
					return
				}
				if l.src[l.i] == '*' && l.peekc(1) == '/' {
					l.adv()
					l.adv()
					break
				}
				l.adv()
			}
		default:
			return
		}
	}
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) next() token {
	l.skipSpace()
	p := l.here()
	if l.i >= len(l.src) {
		return token{kind: tEOF, pos: p}
	}
	c := l.src[l.i]
	switch {
	case strings.IndexByte("[](){},;", c) >= 0:
		l.adv()
		return token{kind: tPunct, pos: p, text: string(c)}
	case c == '"':
		return l.quoted(p)
	case c == ':':
		l.adv()
		if l.i >= len(l.src) || !isAlpha(l.src[l.i]) {
			l.errorf(p, "unexpected character(s) starting with ':'")
			return token{kind: tBad, pos: p}
		}
		id := l.ident()
		if len(id) > maxIdentLen {
			l.errorf(p, "tag identifier ':"+id[:maxIdentLen]+"...' is longer than 32 characters")
		}
		return token{kind: tTag, pos: p, text: id}
	case isDigit(c):
		return l.number(p)
	case isAlpha(c):
		id := l.ident()
		if id == "text" && l.peekc(0) == ':' {
			l.adv()
			return l.multiline(p)
		}
		if len(id) > maxIdentLen {
			l.errorf(p, "identifier '"+id[:maxIdentLen]+"...' is longer than 32 characters")
		}
		return token{kind: tIdent, pos: p, text: id}
	}
	l.adv()
	for l.i < len(l.src) && !isSpaceOrPunct(l.src[l.i]) {
		l.adv()
	}
	l.errorf(p, "unexpected character(s) starting with '"+printable(c)+"'")
	return token{kind: tBad, pos: p}
}

func isSpaceOrPunct(c byte) bool {
	return strings.IndexByte(" \t\r\n[](){},;\"#", c) >= 0 || isAlpha(c) || isDigit(c)
}

func printable(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return "\\x" + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
	}
	return string(c)
}

func (l *lexer) ident() string {
	s := l.i
	for l.i < len(l.src) && (isAlpha(l.src[l.i]) || isDigit(l.src[l.i])) {
		l.adv()
	}
	return strings.ToLower(string(l.src[s:l.i])) // RFC 5228 §2.9: case-insensitive
}

// number reads a number with an optional K, M or G quantifier (RFC 5228
// §2.4.1); values beyond 2^64-1 are errors.
func (l *lexer) number(p pos) token {
	var n uint64
	over := false
	for l.i < len(l.src) && isDigit(l.src[l.i]) {
		d := uint64(l.adv() - '0')
		if n > (^uint64(0)-d)/10 {
			over = true
		}
		n = n*10 + d
	}
	shift := 0
	switch l.peekc(0) {
	case 'K', 'k':
		shift = 10
	case 'M', 'm':
		shift = 20
	case 'G', 'g':
		shift = 30
	}
	if shift > 0 {
		l.adv()
		if n > ^uint64(0)>>shift {
			over = true
		}
		n <<= shift
	}
	if over {
		l.errorf(p, "number exceeds integer limit")
		n = ^uint64(0)
	}
	return token{kind: tNumber, pos: p, num: n}
}

// quoted reads a quoted string: "\" escapes the next character (RFC
// 5228 §2.4.2).
func (l *lexer) quoted(p pos) token {
	l.adv()
	var b strings.Builder
	for {
		if l.atEOF(p, "quoted string") {
			return token{kind: tString, pos: p, text: b.String()}
		}
		c := l.adv()
		switch c {
		case '"':
			return token{kind: tString, pos: p, text: b.String()}
		case '\\':
			if l.i < len(l.src) {
				b.WriteByte(l.adv())
			}
		case '\r':
		case '\n':
			b.WriteString("\r\n") // line ends are CRLF, as in text: strings
		default:
			b.WriteByte(c)
		}
	}
}

// multiline reads a text: string up to a line holding a single ".", with
// dot-unstuffing (RFC 5228 §2.4.2, §8.1).
func (l *lexer) multiline(p pos) token {
	for l.i < len(l.src) && (l.src[l.i] == ' ' || l.src[l.i] == '\t') {
		l.adv()
	}
	if l.peekc(0) == '#' {
		for l.i < len(l.src) && l.src[l.i] != '\n' {
			l.adv()
		}
	}
	if l.peekc(0) == '\r' {
		l.adv()
	}
	if l.peekc(0) != '\n' {
		l.errorf(p, "invalid character '"+printable(l.peekc(0))+"' after text: in multiline string")
		for l.i < len(l.src) && l.src[l.i] != '\n' {
			l.adv()
		}
	}
	if l.i < len(l.src) {
		l.adv()
	}
	var b strings.Builder
	for {
		if l.atEOF(p, "multi-line string") {
			return token{kind: tString, pos: p, text: b.String()}
		}
		s := l.i
		for l.i < len(l.src) && l.src[l.i] != '\n' {
			l.adv()
		}
		line := l.src[s:l.i]
		nl := l.i < len(l.src)
		if nl {
			l.adv()
		}
		t := strings.TrimRight(string(line), "\r")
		if t == "." {
			return token{kind: tString, pos: p, text: b.String()}
		}
		if len(line) > 1 && line[0] == '.' && line[1] == '.' {
			line = line[1:]
		}
		b.WriteString(strings.TrimSuffix(string(line), "\r"))
		if nl {
			b.WriteString("\r\n") // RFC 5228 §2.4.2: lines end in CRLF
		}
	}
}

// atEOF reports (as an error) the end of the script inside a string.
func (l *lexer) atEOF(p pos, what string) bool {
	if l.i < len(l.src) {
		return false
	}
	l.errorf(p, "end of file before end of "+what)
	return true
}
