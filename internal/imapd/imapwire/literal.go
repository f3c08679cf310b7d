package imapwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Literal reads a literal's announcement — "{N}", "{N+}" (LITERAL+ and
// LITERAL-, RFC 7888) or "~{N}" / "~{N+}" (literal8, RFC 3516) — and its
// CRLF, and returns the announcement without reading the data. The caller
// then calls Accept or Reject; until it does, other methods fail.
//
// Literal accepts literal8: commands that do not allow binary data must
// check info.Binary. It does not check Size against Limits.MaxLiteral;
// Accept does. An unreadable size (larger than 2^63-1) is fatal, since
// the client may be about to send that many bytes.
func (d *Decoder) Literal() (LiteralInfo, error) {
	var info LiteralInfo
	b, err := d.peek()
	if err != nil {
		return info, err
	}
	if b == '~' {
		d.advance(b)
		info.Binary = true
	}
	if err := d.expect('{', "literal"); err != nil {
		return info, err
	}
	size, err := d.digits(1<<63-1, "literal size")
	if err != nil {
		if errors.Is(err, ErrSyntax) && d.atDigit() {
			d.err = fmt.Errorf("%w: %w", ErrFatal, err)
			return info, d.err
		}
		return info, err
	}
	info.Size = int64(size)
	info.NonSync = d.Consume('+')
	if err := d.expect('}', "}"); err != nil {
		return info, err
	}
	if err := d.expect('\r', "CRLF after literal size"); err != nil {
		return info, err
	}
	if err := d.expect('\n', "CRLF after literal size"); err != nil {
		return info, err
	}
	d.tailN = 0
	d.hasPend, d.pend = true, info
	d.nlit++
	if d.nlit > d.lim.MaxLiterals {
		// Left pending: DiscardLine ends the command or skips the data.
		return info, fmt.Errorf("%w: more than %d literals", ErrLineTooLong, d.lim.MaxLiterals)
	}
	return info, nil
}

// atDigit reports whether the next byte is a digit (after an overflow).
func (d *Decoder) atDigit() bool {
	b, err := d.br.Peek(1)
	return err == nil && b[0] >= '0' && b[0] <= '9'
}

// Accept accepts the literal Literal announced. For a synchronizing
// literal it calls cont, which sends the continuation request. It returns
// a reader of exactly Size bytes; for a non-binary literal the reader
// fails with ErrSyntax at a NUL byte. The reader is valid until the next
// decoding call, which discards whatever the caller left unread (the
// reader then fails).
//
// A literal over Limits.MaxLiteral is rejected as Reject would, and
// Accept returns ErrLiteralTooLarge (wrapping ErrFatal for a
// non-synchronizing one).
func (d *Decoder) Accept() (io.Reader, error) {
	if d.err != nil {
		return nil, d.err
	}
	if !d.hasPend {
		return nil, errors.New("imapwire: Accept without a pending literal")
	}
	info := d.pend
	if info.Size > d.lim.MaxLiteral {
		if err := d.Reject(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrLiteralTooLarge, info.Size, d.lim.MaxLiteral)
	}
	d.hasPend = false
	if !info.NonSync {
		if err := d.cont(); err != nil {
			d.err = err
			return nil, err
		}
	}
	d.lit = &literalReader{d: d, remaining: info.Size, binary: info.Binary}
	return d.lit, nil
}

// Reject refuses the literal Literal announced without sending anything.
// For a synchronizing literal the client is still waiting for a
// continuation request, so the command ends here: the caller sends its
// tagged response, and DiscardLine has nothing left to read. For a
// non-synchronizing literal Reject reads and discards its data; when the
// data is over Limits.MaxLiteral it does not, and returns an error
// wrapping ErrLiteralTooLarge and ErrFatal.
func (d *Decoder) Reject() error {
	if d.err != nil {
		return d.err
	}
	if !d.hasPend {
		return errors.New("imapwire: Reject without a pending literal")
	}
	d.hasPend = false
	if !d.pend.NonSync {
		d.ended = true
		return nil
	}
	return d.skip(d.pend.Size)
}

// skip discards the data of a non-synchronizing literal.
func (d *Decoder) skip(n int64) error {
	if n > d.lim.MaxLiteral {
		d.err = fmt.Errorf("%w: %w: non-synchronizing literal of %d bytes (limit %d)",
			ErrLiteralTooLarge, ErrFatal, n, d.lim.MaxLiteral)
		return d.err
	}
	if _, err := io.CopyN(io.Discard, d.br, n); err != nil {
		return d.ioErr(err)
	}
	return nil
}

// inlineLiteral reads a (non-binary) literal into memory for String.
func (d *Decoder) inlineLiteral() (string, error) {
	info, err := d.Literal()
	if err != nil {
		return "", err
	}
	if info.Size > d.lim.MaxInline || info.Size > d.lim.MaxInlineTotal-d.inline {
		if err := d.Reject(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: %d-byte string literal (limit %d, %d per command)",
			ErrLiteralTooLarge, info.Size, d.lim.MaxInline, d.lim.MaxInlineTotal)
	}
	r, err := d.Accept()
	if err != nil {
		return "", err
	}
	buf := make([]byte, info.Size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	d.inline += info.Size
	return string(buf), nil
}

var errStaleLiteral = errors.New("imapwire: literal read after the decoder moved past it")

// literalReader streams an accepted literal's data.
type literalReader struct {
	d         *Decoder
	remaining int64
	binary    bool
	err       error
}

func (r *literalReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.remaining == 0 {
		return 0, io.EOF
	}
	if r.d.lit != r {
		// The decoder moved on and discarded the rest of this literal.
		return 0, errStaleLiteral
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	n, err := r.d.br.Read(p)
	r.remaining -= int64(n)
	if !r.binary {
		if i := bytes.IndexByte(p[:n], 0); i >= 0 {
			r.err = fmt.Errorf("%w: NUL in literal", ErrSyntax)
			return i, r.err
		}
	}
	if err != nil {
		r.err = r.d.ioErr(err)
		return n, r.err
	}
	return n, nil
}

// DiscardLine skips the rest of the current command after an error, so
// that the next Tag reads the next command. It sends no continuation
// request: a line ending in a synchronizing literal ends the command (the
// client waits, then reads the tagged BAD), and the data of
// non-synchronizing literals is skipped. Memory use is constant; the
// remaining line length is not limited (the session's read deadline is).
//
// It fails, fatally, on an I/O error, on a non-synchronizing literal over
// Limits.MaxLiteral, on more than Limits.MaxLiterals literals, and on a
// literal size it cannot read. After CRLF, or after Reject of a
// synchronizing literal, it does nothing.
func (d *Decoder) DiscardLine() error {
	if d.err != nil {
		return d.err
	}
	if !d.inCmd || d.ended {
		d.inCmd = false
		return nil
	}
	if d.hasPend {
		d.hasPend = false
		if !d.pend.NonSync {
			d.inCmd = false
			return nil
		}
		if err := d.skip(d.pend.Size); err != nil {
			return err
		}
		d.tailN = 0
	}
	if err := d.drain(); err != nil {
		return err
	}
	tail := make([]byte, 0, tailSize)
	tail = append(tail, d.tail[:d.tailN]...)
	d.tailN = 0
	for {
		chunk, err := d.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return d.ioErr(err)
		}
		if err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		tail = appendTail(tail, chunk)
		if err != nil {
			continue // no LF yet
		}
		info, ok, lerr := literalAtEnd(tail)
		tail = tail[:0]
		if lerr != nil {
			d.err = lerr
			return lerr
		}
		if !ok || !info.NonSync {
			d.inCmd = false
			return nil
		}
		d.nlit++
		if d.nlit > d.lim.MaxLiterals {
			d.err = fmt.Errorf("%w: %w: more than %d literals", ErrLineTooLong, ErrFatal, d.lim.MaxLiterals)
			return d.err
		}
		if err := d.skip(info.Size); err != nil {
			return err
		}
	}
}

// appendTail appends chunk to tail, keeping the last tailSize bytes.
func appendTail(tail, chunk []byte) []byte {
	if len(chunk) >= tailSize {
		return append(tail[:0], chunk[len(chunk)-tailSize:]...)
	}
	if over := len(tail) + len(chunk) - tailSize; over > 0 {
		tail = append(tail[:0], tail[over:]...)
	}
	return append(tail, chunk...)
}

// literalAtEnd parses the end of a line (without its LF) as a literal
// announcement: ["~"] "{" 1*DIGIT ["+"] "}" CR. A size it cannot read is
// an error: the client may send that many bytes.
func literalAtEnd(line []byte) (LiteralInfo, bool, error) {
	var info LiteralInfo
	i := len(line) - 1
	if i < 0 || line[i] != '\r' {
		return info, false, nil
	}
	i--
	if i < 0 || line[i] != '}' {
		return info, false, nil
	}
	i--
	if i >= 0 && line[i] == '+' {
		info.NonSync = true
		i--
	}
	end := i + 1
	for i >= 0 && line[i] >= '0' && line[i] <= '9' {
		i--
	}
	if i+1 == end {
		return info, false, nil
	}
	if i < 0 {
		// Only digits in view: the size is too long to be read.
		return info, false, fmt.Errorf("%w: unreadable literal size", ErrFatal)
	}
	if line[i] != '{' {
		return info, false, nil
	}
	var size uint64
	for _, c := range line[i+1 : end] {
		digit := uint64(c - '0')
		if size > (1<<63-1-digit)/10 {
			return info, false, fmt.Errorf("%w: literal size out of range", ErrFatal)
		}
		size = size*10 + digit
	}
	info.Size = int64(size)
	info.Binary = i > 0 && line[i-1] == '~'
	return info, true, nil
}
