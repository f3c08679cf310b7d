package imapwire

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxQuoted is the longest string Encoder.String sends quoted; longer
// ones go as literals, which keeps response lines short for clients with
// line buffers.
const maxQuoted = 1000

// Encoder writes responses. Every method appends to a buffer; nothing
// reaches the client before Flush. The first write error is kept and
// returned by Err and Flush; later calls do nothing.
type Encoder struct {
	// UTF8 allows 8-bit UTF-8 in quoted strings: set it for IMAP4rev2
	// sessions and after ENABLE UTF8=ACCEPT (RFC 9051 §4.3, RFC 6855).
	// Otherwise such strings are sent as literals.
	UTF8 bool

	dst io.Writer
	w   *bufio.Writer // from writers while responses are buffered, else nil
	err error
}

// writers holds the Encoders' buffers between responses: a connection
// waiting for its client (thousands of them in IDLE) holds none.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

// buf returns the buffer, taking one from the pool if needed.
func (e *Encoder) buf() *bufio.Writer {
	if e.w == nil {
		e.w = writers.Get().(*bufio.Writer)
		e.w.Reset(e.dst)
	}
	return e.w
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{dst: w}
}

// Raw writes s as it is.
func (e *Encoder) Raw(s string) *Encoder {
	if e.err == nil {
		_, e.err = e.buf().WriteString(s)
	}
	return e
}

func (e *Encoder) byte(b byte) *Encoder {
	if e.err == nil {
		e.err = e.buf().WriteByte(b)
	}
	return e
}

// Bytes writes b as it is: a response the caller built with strconv's
// Append functions.
func (e *Encoder) Bytes(b []byte) *Encoder {
	if e.err == nil {
		_, e.err = e.buf().Write(b)
	}
	return e
}

// Atom writes s as it is; the caller knows it is an atom (a keyword,
// "NIL", a flag).
func (e *Encoder) Atom(s string) *Encoder { return e.Raw(s) }

// SP writes a space.
func (e *Encoder) SP() *Encoder { return e.byte(' ') }

// Number writes n in decimal.
func (e *Encoder) Number(n uint32) *Encoder { return e.Number64(uint64(n)) }

// Number64 writes n in decimal.
func (e *Encoder) Number64(n uint64) *Encoder {
	var buf [20]byte
	if e.err == nil {
		_, e.err = e.buf().Write(strconv.AppendUint(buf[:0], n, 10))
	}
	return e
}

// String writes s as a quoted string when it can be one — no CR, LF or
// NUL, at most 1000 bytes, 7-bit unless UTF8 is set and s is valid UTF-8 —
// and as a literal otherwise. (A string with NUL cannot be sent correctly
// in either form; it goes as a literal.)
func (e *Encoder) String(s string) *Encoder {
	if !e.quotable(s) {
		e.Raw("{").Number64(uint64(len(s))).Raw("}\r\n")
		return e.Raw(s)
	}
	e.byte('"')
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			break
		}
		e.Raw(s[:i]).byte('\\').byte(s[i])
		s = s[i+1:]
	}
	return e.Raw(s).byte('"')
}

func (e *Encoder) quotable(s string) bool {
	if len(s) > maxQuoted {
		return false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0 || c == '\r' || c == '\n':
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return ascii || e.UTF8 && utf8.ValidString(s)
}

// NString writes s as a String, or NIL when !ok.
func (e *Encoder) NString(s string, ok bool) *Encoder {
	if !ok {
		return e.Raw("NIL")
	}
	return e.String(s)
}

// AString writes s as an atom when it is one (ASTRING-CHARs, not "NIL"
// in any case, which a client could take for nil), else as a String.
func (e *Encoder) AString(s string) *Encoder {
	if s == "" || strings.EqualFold(s, "NIL") {
		return e.String(s)
	}
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&cAString == 0 {
			return e.String(s)
		}
	}
	return e.Raw(s)
}

// Literal writes a literal of size bytes read from r: "{size}" or, when
// binary, "~{size}" (RFC 3516 §4.2), then CRLF and the data. It fails if
// r holds fewer than size bytes; the response is then broken and the
// session must close the connection.
func (e *Encoder) Literal(size int64, r io.Reader, binary bool) error {
	if size < 0 && e.err == nil {
		e.err = fmt.Errorf("imapwire: literal of negative size %d", size)
	}
	if binary {
		e.byte('~')
	}
	e.Raw("{").Number64(uint64(size)).Raw("}\r\n")
	if e.err != nil {
		return e.err
	}
	n, err := io.CopyN(e.buf(), r, size)
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("imapwire: literal of %d bytes: %w after %d", size, io.ErrUnexpectedEOF, n)
		}
		e.err = err
	}
	return e.err
}

// List writes "(", then each(0) … each(n-1) separated by spaces, then ")".
func (e *Encoder) List(n int, each func(i int)) *Encoder {
	e.byte('(')
	for i := range n {
		if i > 0 {
			e.SP()
		}
		each(i)
	}
	return e.byte(')')
}

// CRLF ends a response line.
func (e *Encoder) CRLF() *Encoder { return e.Raw("\r\n") }

// Flush sends what was written. When the Encoder writes into a layer
// that buffers too (a compressor), Flush flushes it as well.
func (e *Encoder) Flush() error {
	if e.err == nil && e.w != nil {
		if e.err = e.w.Flush(); e.err == nil {
			e.w.Reset(nil)
			writers.Put(e.w)
			e.w = nil
		}
	}
	if f, ok := e.dst.(interface{ Flush() error }); ok && e.err == nil {
		e.err = f.Flush()
	}
	return e.err
}

// Err returns the first error.
func (e *Encoder) Err() error { return e.err }
