package imapwire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bounds what a [Decoder] accepts from a client. Zero fields take
// the defaults below.
type Limits struct {
	MaxLine        int   // bytes of one command outside literals, CRLFs included; default 64 KiB
	MaxLiteral     int64 // largest literal Accept streams (APPENDLIMIT); default 64 MiB
	MaxInline      int64 // largest literal that String, AString, NString and ListMailbox read into memory; default 1 MiB
	MaxInlineTotal int64 // sum of those in-memory literals in one command; default 8 MiB
	MaxLiterals    int   // literals in one command; default 1000
}

// Defaults for the zero fields of [Limits].
const (
	DefaultMaxLine        = 64 << 10
	DefaultMaxLiteral     = 64 << 20
	DefaultMaxInline      = 1 << 20
	DefaultMaxInlineTotal = 8 << 20
	DefaultMaxLiterals    = 1000
)

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxLiteral <= 0 {
		l.MaxLiteral = DefaultMaxLiteral
	}
	if l.MaxInline <= 0 {
		l.MaxInline = DefaultMaxInline
	}
	if l.MaxInlineTotal <= 0 {
		l.MaxInlineTotal = DefaultMaxInlineTotal
	}
	if l.MaxLiterals <= 0 {
		l.MaxLiterals = DefaultMaxLiterals
	}
	return l
}

// Errors returned by the [Decoder]. They are wrapped with the position and
// what was expected; test them with errors.Is.
var (
	// ErrSyntax: the command does not match the grammar. The session
	// replies BAD and calls DiscardLine.
	ErrSyntax = errors.New("imapwire: syntax error")
	// ErrLineTooLong: the command exceeds Limits.MaxLine or
	// Limits.MaxLiterals. The session replies BAD and calls DiscardLine
	// (or closes the connection).
	ErrLineTooLong = errors.New("imapwire: command too long")
	// ErrLiteralTooLarge: a literal exceeds Limits.MaxLiteral or
	// MaxInline. Nothing was sent to the client; the session replies NO
	// [TOOBIG] or BAD and calls DiscardLine, unless the error also wraps
	// ErrFatal.
	ErrLiteralTooLarge = errors.New("imapwire: literal too large")
	// ErrFatal: the input cannot be resynchronised with the client (a
	// non-synchronizing literal over the limit, an unreadable literal
	// size). The session sends BYE and closes the connection.
	ErrFatal = errors.New("imapwire: connection cannot continue")
)

// IsFatal reports whether err leaves the connection unusable: it wraps
// [ErrFatal], or it is not one of the recoverable command errors
// ([ErrSyntax], [ErrLineTooLong], [ErrLiteralTooLarge]) — an I/O error,
// io.EOF or io.ErrUnexpectedEOF, or an error returned by the cont function.
func IsFatal(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrFatal) {
		return true
	}
	return !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrLineTooLong) && !errors.Is(err, ErrLiteralTooLarge)
}

// LiteralInfo describes a literal announced by the client, before its data.
type LiteralInfo struct {
	Size    int64
	NonSync bool // {N+}: the data follows without a continuation request (RFC 7888)
	Binary  bool // ~{N}: literal8, may contain NUL (RFC 3516)
}

// Decoder reads client commands. Its methods are not safe for concurrent use.
type Decoder struct {
	br   *bufio.Reader
	cont func() error
	lim  Limits

	err error // sticky: I/O error, EOF or fatal error

	inCmd  bool  // a command has started and CRLF has not been read
	ended  bool  // the command ended at a synchronizing literal that was not accepted
	n      int   // bytes of the command read outside literals
	nlit   int   // literals announced in the command
	inline int64 // bytes of literals read into memory in the command

	hasPend bool        // Literal returned; neither Accept nor Reject yet
	pend    LiteralInfo // that literal
	lit     *literalReader

	// The last bytes consumed on the current line, so that DiscardLine
	// can recognise a literal even when an argument method consumed its
	// opening "{".
	tail  [tailSize]byte
	tailN int
}

const tailSize = 32

// readBuffer is the Decoder's read buffer: small, since a server holds
// one per connection (thousands in IDLE) and commands are read a few
// bytes at a time; literals larger than it are read past it.
const readBuffer = 1024

// NewDecoder returns a Decoder reading from r. cont must write a
// continuation request ("+ Ready\r\n") and flush it; the decoder calls it
// from Accept for a synchronizing literal, and nowhere else. A nil cont
// sends nothing.
func NewDecoder(r io.Reader, cont func() error, lim Limits) *Decoder {
	if cont == nil {
		cont = func() error { return nil }
	}
	return &Decoder{br: bufio.NewReaderSize(r, readBuffer), cont: cont, lim: lim.withDefaults()}
}

// Buffered returns the number of bytes already read from the client and
// not yet decoded: a session flushes its responses only when it is 0, so
// pipelined commands get their responses in one write.
func (d *Decoder) Buffered() int { return d.br.Buffered() }

// Ready waits until input can be read or reading fails, consuming
// nothing; reading again returns the failure. Between commands, a
// session that has responses to send while it waits (IDLE, IMAP
// NOTIFY) calls it from a goroutine of its own, and uses the decoder
// again only after it returned.
func (d *Decoder) Ready() error {
	_, err := d.br.Peek(1)
	return err
}

// Reader returns what the decoder reads from, with the bytes it has
// buffered but not decoded: a layer started after a command (COMPRESS,
// RFC 4978) reads from it, so that data the client sent right after the
// command is not lost.
func (d *Decoder) Reader() io.Reader { return d.br }

// Limits returns the limits in effect, defaults filled in.
func (d *Decoder) Limits() Limits { return d.lim }

func (d *Decoder) resetCommand() {
	d.inCmd, d.ended = false, false
	d.n, d.nlit, d.inline = 0, 0, 0
	d.hasPend = false
	d.lit = nil
	d.tailN = 0
}

// ioErr records an error from the underlying reader; it is sticky.
func (d *Decoder) ioErr(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if d.err == nil {
		d.err = err
	}
	return d.err
}

// prep runs before every read inside a command: it drains what the
// caller left of an accepted literal.
func (d *Decoder) prep() error {
	if d.err != nil {
		return d.err
	}
	if d.ended {
		return fmt.Errorf("%w: command ended at a rejected synchronizing literal", ErrSyntax)
	}
	if d.hasPend {
		return errors.New("imapwire: literal neither accepted nor rejected")
	}
	return d.drain()
}

func (d *Decoder) drain() error {
	if d.lit == nil {
		return nil
	}
	lr := d.lit
	d.lit = nil
	if lr.remaining > 0 {
		n, err := io.CopyN(io.Discard, d.br, lr.remaining)
		lr.remaining -= n
		if err != nil {
			return d.ioErr(err)
		}
	}
	return nil
}

// peek returns the next byte of the command line.
func (d *Decoder) peek() (byte, error) {
	if err := d.prep(); err != nil {
		return 0, err
	}
	if d.n >= d.lim.MaxLine {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, d.lim.MaxLine)
	}
	b, err := d.br.Peek(1)
	if err != nil {
		return 0, d.ioErr(err)
	}
	return b[0], nil
}

// advance consumes b, the byte peek returned.
func (d *Decoder) advance(b byte) {
	d.br.Discard(1)
	d.n++
	if d.tailN == tailSize {
		copy(d.tail[:], d.tail[1:])
		d.tailN--
	}
	d.tail[d.tailN] = b
	d.tailN++
}

func (d *Decoder) syntax(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if b, err := d.br.Peek(1); err == nil {
		return fmt.Errorf("%w: %s at byte %d, found %q", ErrSyntax, msg, d.n, b[0])
	}
	return fmt.Errorf("%w: %s at byte %d", ErrSyntax, msg, d.n)
}

// Character classes of RFC 9051 §9.
const (
	cAtom    = 1 << iota // ATOM-CHAR
	cAString             // ASTRING-CHAR = ATOM-CHAR / resp-specials
	cList                // list-char = ATOM-CHAR / list-wildcards / resp-specials
	cTag                 // tag = 1*<any ASTRING-CHAR except "+">
)

var charClass = func() (t [256]uint8) {
	for c := 0x21; c < 0x7f; c++ { // CHAR minus CTL and SP
		switch c {
		case '(', ')', '{', '%', '*', '"', '\\', ']': // atom-specials
		default:
			t[c] = cAtom | cAString | cList | cTag
		}
	}
	t[']'] = cAString | cList | cTag
	t['%'] = cList
	t['*'] = cList
	t['+'] &^= cTag
	return t
}()

// token reads 1*c for a character class c.
func (d *Decoder) token(class uint8, what string) (string, error) {
	var buf []byte
	for {
		b, err := d.peek()
		if err != nil {
			return "", err
		}
		if charClass[b]&class == 0 {
			break
		}
		d.advance(b)
		buf = append(buf, b)
	}
	if len(buf) == 0 {
		return "", d.syntax("expected %s", what)
	}
	return string(buf), nil
}

// Tag starts a command: it reads the tag and the SP after it. At a clean
// end of input it returns io.EOF. When the tag is valid but the SP is
// missing it returns the tag with the error, so the BAD can be tagged.
// If the previous command was left unfinished, Tag discards it first.
func (d *Decoder) Tag() (string, error) {
	if d.inCmd {
		if err := d.DiscardLine(); err != nil {
			return "", err
		}
	}
	if d.err != nil {
		return "", d.err
	}
	d.resetCommand()
	if _, err := d.br.Peek(1); err != nil {
		if err != io.EOF {
			return "", d.ioErr(err)
		}
		d.err = io.EOF
		return "", io.EOF
	}
	d.inCmd = true
	tag, err := d.token(cTag, "tag")
	if err != nil {
		return "", err
	}
	return tag, d.SP()
}

// Line reads a whole CRLF-terminated line outside of any command and
// returns it without the CRLF: a SASL response during AUTHENTICATE
// (RFC 9051 §6.2.2) or IDLE's "DONE" (RFC 9051 §6.3.13). It is bounded
// by Limits.MaxLine and accepts no literal.
func (d *Decoder) Line() (string, error) {
	if d.inCmd {
		if err := d.DiscardLine(); err != nil {
			return "", err
		}
	}
	d.resetCommand()
	d.inCmd = true
	var buf []byte
	for {
		b, err := d.peek()
		if err != nil {
			return "", err
		}
		if b == '\r' || b == '\n' {
			break
		}
		d.advance(b)
		buf = append(buf, b)
	}
	if err := d.CRLF(); err != nil {
		return "", err
	}
	return string(buf), nil
}

// Atom reads an atom (1*ATOM-CHAR): a command name, a keyword, a fetch
// item name. It does not change case. "[" is an ATOM-CHAR and "]" is not,
// so "BODY[TEXT]" reads as "BODY[TEXT", leaving "]": FETCH splits at "[".
func (d *Decoder) Atom() (string, error) { return d.token(cAtom, "atom") }

// Flag reads a flag: "\" atom (system flag or flag-extension), "\*"
// (flag-perm, RFC 9051 §7.1), or a keyword atom. The backslash is kept.
func (d *Decoder) Flag() (string, error) {
	if !d.Consume('\\') {
		return d.token(cAtom, "flag")
	}
	if d.Consume('*') {
		return `\*`, nil
	}
	a, err := d.token(cAtom, "flag name")
	if err != nil {
		return "", err
	}
	return `\` + a, nil
}

// SP reads one space.
func (d *Decoder) SP() error { return d.expect(' ', "SP") }

// expect consumes c or fails.
func (d *Decoder) expect(c byte, what string) error {
	b, err := d.peek()
	if err != nil {
		return err
	}
	if b != c {
		return d.syntax("expected %s", what)
	}
	d.advance(b)
	return nil
}

// Peek returns the next byte without consuming it; at the end of a
// command it returns '\r'.
func (d *Decoder) Peek() (byte, error) { return d.peek() }

// PeekAtom returns the atom that comes next, up to 16 bytes of it,
// without consuming it ("" if none): a command can tell an optional
// keyword (SEARCH's RETURN, CHARSET) from what may stand in its place.
// It reads no further than the byte after the atom, which is part of the
// same command.
func (d *Decoder) PeekAtom() string {
	if d.prep() != nil {
		return ""
	}
	var b []byte
	for n := 1; n <= 16; n++ {
		p, err := d.br.Peek(n)
		if err != nil || charClass[p[n-1]]&cAtom == 0 {
			break
		}
		b = p
	}
	return string(b)
}

// PeekBytes returns the next n bytes (fewer at the end of input) without
// consuming them. Every command ends with CRLF, so peeking 2 bytes inside
// a command never waits for the next one.
func (d *Decoder) PeekBytes(n int) []byte {
	if d.prep() != nil {
		return nil
	}
	b, _ := d.br.Peek(n)
	return b
}

// AtEnd reports whether the next bytes are CRLF.
func (d *Decoder) AtEnd() bool {
	if d.prep() != nil {
		return false
	}
	b, err := d.br.Peek(2)
	return err == nil && b[0] == '\r' && b[1] == '\n'
}

// Consume consumes b if it is the next byte and reports whether it did.
func (d *Decoder) Consume(b byte) bool {
	c, err := d.peek()
	if err != nil || c != b {
		return false
	}
	d.advance(c)
	return true
}

// CRLF ends a command.
func (d *Decoder) CRLF() error {
	if err := d.prep(); err != nil {
		return err
	}
	b, err := d.br.Peek(2)
	if len(b) < 2 || b[0] != '\r' || b[1] != '\n' {
		if err != nil && (len(b) == 0 || b[0] == '\r') {
			return d.ioErr(err)
		}
		return d.syntax("expected end of command")
	}
	d.br.Discard(2)
	d.n += 2
	d.inCmd = false
	d.tailN = 0
	return nil
}

// digits reads 1*DIGIT as a number no larger than max.
func (d *Decoder) digits(max uint64, what string) (uint64, error) {
	var v uint64
	n := 0
	for {
		b, err := d.peek()
		if err != nil {
			return 0, err
		}
		if b < '0' || b > '9' {
			break
		}
		digit := uint64(b - '0')
		if v > (max-digit)/10 {
			return 0, d.syntax("%s out of range", what)
		}
		v = v*10 + digit
		d.advance(b)
		n++
	}
	if n == 0 {
		return 0, d.syntax("expected %s", what)
	}
	return v, nil
}

// Number reads a number (RFC 9051 §9: 1*DIGIT, unsigned 32-bit). Zero is
// accepted; callers needing nz-number check for it.
func (d *Decoder) Number() (uint32, error) {
	v, err := d.digits(1<<32-1, "number")
	return uint32(v), err
}

// NZNumber reads an nz-number: a Number that is not zero.
func (d *Decoder) NZNumber() (uint32, error) {
	v, err := d.Number()
	if err == nil && v == 0 {
		return 0, d.syntax("expected non-zero number")
	}
	return v, err
}

// Number64 reads a number64 (RFC 9051 §9), also the mod-sequence-value
// of CONDSTORE (RFC 7162 §7): 1*DIGIT up to 2^63-1.
func (d *Decoder) Number64() (uint64, error) {
	return d.digits(1<<63-1, "number")
}

// Quoted reads a quoted string. Within it, "\" escapes only DQUOTE and
// "\"; CR, LF and NUL are refused. 8-bit bytes are accepted as they are
// (UTF-8 in IMAP4rev2, RFC 9051 §4.3; a charset named by SEARCH CHARSET
// in rev1): callers that need UTF-8 check utf8.ValidString.
func (d *Decoder) Quoted() (string, error) {
	if err := d.expect('"', "quoted string"); err != nil {
		return "", err
	}
	var buf []byte
	for {
		b, err := d.peek()
		if err != nil {
			return "", err
		}
		switch b {
		case '"':
			d.advance(b)
			return string(buf), nil
		case '\\':
			d.advance(b)
			e, err := d.peek()
			if err != nil {
				return "", err
			}
			if e != '"' && e != '\\' {
				return "", d.syntax("invalid escape in quoted string")
			}
			d.advance(e)
			buf = append(buf, e)
		case '\r', '\n', 0:
			return "", d.syntax("unterminated quoted string")
		default:
			d.advance(b)
			buf = append(buf, b)
		}
	}
}

// String reads a string: quoted, or a literal of at most
// Limits.MaxInline bytes read into memory. A literal8 (~{N}) is refused.
func (d *Decoder) String() (string, error) {
	b, err := d.peek()
	if err != nil {
		return "", err
	}
	switch b {
	case '"':
		return d.Quoted()
	case '{':
		return d.inlineLiteral()
	}
	return "", d.syntax("expected string")
}

// AString reads an astring: 1*ASTRING-CHAR (which includes "]"), or a
// string.
func (d *Decoder) AString() (string, error) { return d.stringOr(cAString, "astring") }

// ListMailbox reads a LIST pattern (list-mailbox, RFC 9051 §9): like
// AString, with the wildcards "%" and "*" allowed in the atom form.
func (d *Decoder) ListMailbox() (string, error) { return d.stringOr(cList, "mailbox pattern") }

func (d *Decoder) stringOr(class uint8, what string) (string, error) {
	b, err := d.peek()
	if err != nil {
		return "", err
	}
	if b == '"' || b == '{' {
		return d.String()
	}
	return d.token(class, what)
}

// NString reads an nstring: a string, or NIL (any case), for which it
// returns ("", false).
func (d *Decoder) NString() (string, bool, error) {
	b, err := d.peek()
	if err != nil {
		return "", false, err
	}
	if b == '"' || b == '{' {
		s, err := d.String()
		return s, err == nil, err
	}
	a, err := d.token(cAtom, "string or NIL")
	if err != nil {
		return "", false, err
	}
	if !strings.EqualFold(a, "NIL") {
		return "", false, fmt.Errorf("%w: expected string or NIL at byte %d, found %q", ErrSyntax, d.n-len(a), a)
	}
	return "", false, nil
}

// List reads a parenthesized list: "(" [each *(SP each)] ")". each reads
// one element; an empty list is accepted.
func (d *Decoder) List(each func() error) error {
	if err := d.expect('(', "("); err != nil {
		return err
	}
	if d.Consume(')') {
		return nil
	}
	for {
		if err := each(); err != nil {
			return err
		}
		if d.Consume(')') {
			return nil
		}
		if err := d.SP(); err != nil {
			return err
		}
	}
}
