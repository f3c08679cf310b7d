package managesieve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RFC 5804 §4: a quoted string holds at most 1024 octets.
const maxQuoted = 1024

// maxArgs bounds a command's arguments: none takes more than two, so a
// client cannot make the server hold many literals at once.
const maxArgs = 4

// maxDiscard is the largest non-synchronizing literal that is read and
// thrown away after its command was refused (a script over the size
// limit): larger, the session ends rather than read it.
const maxDiscard = 1 << 30

// arg is one argument: a string (quoted or literal) or an atom (a
// command name, a number, ACTIVE).
type arg struct {
	s    string
	atom bool
}

// commandError refuses one command with NO (code may be ""); the session
// goes on with the next command.
type commandError struct{ code, msg string }

func (e *commandError) Error() string { return e.msg }

func refuse(code, format string, args ...any) error {
	return &commandError{code: code, msg: fmt.Sprintf(format, args...)}
}

// fatalError ends the session with BYE: the server can no longer find
// where the next command starts.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

// literal is the {N} or {N+} that ends a line (RFC 5804 §4).
type literal struct {
	n    int64
	sync bool // {N}: the client waits for a continuation before sending
}

// parser reads commands (RFC 5804 §4: a name, arguments separated by
// SP, CRLF; a literal's octets follow the CRLF of its line and the
// command goes on after them).
type parser struct {
	r          *bufio.Reader
	maxLine    int
	maxLiteral int64
	// onSync answers a synchronizing literal {N} with a continuation.
	// RFC 5804 has clients send {N+} only; older clients send {N} and
	// wait, as in IMAP.
	onSync func() error
}

// command reads one command: its name in upper case and its arguments.
// A *commandError leaves the parser at the start of the next command.
func (p *parser) command() (string, []arg, error) {
	args, err := p.args()
	switch {
	case err != nil:
		return "", nil, err
	case len(args) == 0:
		return "", nil, refuse("", "Empty command")
	case !args[0].atom:
		return "", nil, refuse("", "A command starts with its name")
	}
	return strings.ToUpper(args[0].s), args[1:], nil
}

// readString reads a line holding one string: a client's SASL response
// (RFC 5804 §2.1).
func (p *parser) readString() (string, error) {
	args, err := p.args()
	switch {
	case err != nil:
		return "", err
	case len(args) != 1 || args[0].atom:
		return "", refuse("", "Expected one string")
	}
	return args[0].s, nil
}

// args reads the tokens of one command, with its literals, up to the
// CRLF that ends it.
func (p *parser) args() ([]arg, error) {
	var args []arg
	for {
		line, err := p.line()
		if err != nil {
			return nil, err
		}
		var lit *literal
		args, lit, err = scanLine(line, args)
		switch {
		case err != nil:
			return nil, p.skip(line, err)
		case lit == nil:
			return args, nil
		case len(args) >= maxArgs:
			return nil, p.skip(line, refuse("", "Too many arguments"))
		case lit.n > p.maxLiteral:
			return nil, p.skip(line, refuse("QUOTA/MAXSIZE", "Literal over %d octets", p.maxLiteral))
		}
		b, err := p.literal(lit)
		if err != nil {
			return nil, err
		}
		args = append(args, arg{s: string(b)})
	}
}

func (p *parser) literal(lit *literal) ([]byte, error) {
	if lit.sync && p.onSync != nil {
		if err := p.onSync(); err != nil {
			return nil, err
		}
	}
	b := make([]byte, lit.n)
	_, err := io.ReadFull(p.r, b)
	return b, err
}

// skip reads past the rest of a refused command, so that the next
// command is read from its start: the non-synchronizing literal that ends
// line and the lines after it. A synchronizing literal is never sent
// once NO is the answer.
func (p *parser) skip(line []byte, cause error) error {
	for {
		lit, ok := trailingLiteral(line)
		if !ok || lit.sync {
			return cause
		}
		if lit.n > maxDiscard {
			return &fatalError{"Literal too large"}
		}
		if _, err := io.CopyN(io.Discard, p.r, lit.n); err != nil {
			return err
		}
		var err error
		if line, err = p.line(); err != nil {
			return err
		}
	}
}

// line reads one line without its CRLF (or LF). A line over maxLine is
// fatal: it might end with a literal the server did not see.
func (p *parser) line() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := p.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > p.maxLine {
			return nil, &fatalError{"Line too long"}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r")), nil
	}
}

// scanLine appends the atoms and quoted strings of line to args; a
// literal must be the line's last token and is returned for the caller
// to read.
func scanLine(line []byte, args []arg) ([]arg, *literal, error) {
	for {
		line = bytes.TrimLeft(line, " ")
		if len(line) == 0 {
			return args, nil, nil
		}
		switch line[0] {
		case '{':
			lit, ok := trailingLiteral(line)
			if !ok || bytes.IndexByte(line, '}') != len(line)-1 {
				return args, nil, refuse("", "Bad literal")
			}
			return args, &lit, nil
		case '"':
			s, rest, err := scanQuoted(line)
			if err != nil {
				return args, nil, err
			}
			args, line = append(args, arg{s: s}), rest
		default:
			end := bytes.IndexByte(line, ' ')
			if end < 0 {
				end = len(line)
			}
			if !isAtom(line[:end]) {
				return args, nil, refuse("", "Syntax error")
			}
			args, line = append(args, arg{s: string(line[:end]), atom: true}), line[end:]
		}
	}
}

// scanQuoted reads a quoted string (RFC 5804 §4: UTF-8 without CR, LF
// or NUL; \ escapes only " and \) at the start of line.
func scanQuoted(line []byte) (string, []byte, error) {
	var b strings.Builder
	for i := 1; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			if !utf8.ValidString(b.String()) {
				return "", nil, refuse("", "Quoted string is not UTF-8")
			}
			if i+1 < len(line) && line[i+1] != ' ' {
				return "", nil, refuse("", "Syntax error after a quoted string")
			}
			return b.String(), line[i+1:], nil
		case c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\'):
			i++
			c = line[i]
		case c == '\\' || c == 0 || c == '\r':
			return "", nil, refuse("", "Bad character in a quoted string")
		}
		if b.Len() == maxQuoted {
			return "", nil, refuse("", "Quoted string over %d octets", maxQuoted)
		}
		b.WriteByte(c)
	}
	return "", nil, refuse("", "Unterminated quoted string")
}

// trailingLiteral parses the {N} or {N+} that ends line.
func trailingLiteral(line []byte) (literal, bool) {
	if !bytes.HasSuffix(line, []byte("}")) {
		return literal{}, false
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return literal{}, false
	}
	num, sync := string(line[open+1:len(line)-1]), true
	if strings.HasSuffix(num, "+") {
		num, sync = num[:len(num)-1], false
	}
	n, ok := parseNumber(num)
	return literal{n: n, sync: sync}, ok
}

// parseNumber parses RFC 5804 §4's number: digits, at most 4294967295.
func parseNumber(s string) (int64, bool) {
	if s == "" || len(s) > 10 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n <= 1<<32-1
}

// isAtom: RFC 5804 §4 ATOM-CHAR, printable ASCII without the specials.
func isAtom(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return len(b) > 0
}

// quote writes s as a quoted string (RFC 5804 §4) when it may be one,
// else as a literal.
func quote(s string) string {
	if len(s) <= maxQuoted && !strings.ContainsAny(s, "\r\n\x00") && utf8.ValidString(s) {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return fmt.Sprintf("{%d}\r\n%s", len(s), s)
}
