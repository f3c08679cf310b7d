package fetch

import (
	"bufio"
	"encoding/base64"
	"io"
	"slices"
)

// The decoders below never fail on bad input, only on read errors: BINARY
// sizes are computed by decoding, so decoding must give the same bytes
// every time and must not stop half way through a response.

// maxWS is the longest run of white space the quoted-printable decoder
// holds back to see whether it ends a line; a longer run is kept.
const maxWS = 1024

// base64Reader decodes base64 (RFC 2045 §6.8) leniently: characters
// outside the alphabet are ignored, "=" ends a quantum early (as between
// concatenated encodings), and a final partial quantum of 2 or 3
// characters still gives its 1 or 2 bytes.
type base64Reader struct {
	r   io.Reader
	in  []byte // raw input
	seg []byte // alphabet characters since the last "=", not yet decoded
	out []byte // decoded, out[pos:] pending
	pos int
	err error
}

func newBase64Reader(r io.Reader) io.Reader {
	return &base64Reader{r: r, in: make([]byte, 32<<10)}
}

func (r *base64Reader) Read(p []byte) (int, error) {
	for r.pos == len(r.out) {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
	}
	n := copy(p, r.out[r.pos:])
	r.pos += n
	return n, nil
}

// fill decodes the next chunk of input into r.out.
func (r *base64Reader) fill() {
	r.out, r.pos = r.out[:0], 0
	n, err := r.r.Read(r.in)
	for _, c := range r.in[:n] {
		switch {
		case b64[c] != 0xff:
			r.seg = append(r.seg, c)
		case c == '=':
			r.decode(true)
		}
	}
	if err != nil {
		r.decode(true)
		r.err = err
		return
	}
	r.decode(false)
}

// decode decodes r.seg into r.out: all of it at the end of a segment,
// else only whole quanta.
func (r *base64Reader) decode(end bool) {
	k := len(r.seg)
	if !end {
		k -= k % 4
	} else if k%4 == 1 {
		k-- // a lone character carries no whole byte
	}
	n := len(r.out)
	r.out = slices.Grow(r.out, base64.RawStdEncoding.DecodedLen(k))
	m, _ := base64.RawStdEncoding.Decode(r.out[n:cap(r.out)], r.seg[:k]) // alphabet only, k%4 != 1: no error
	r.out = r.out[:n+m]
	if end {
		k = len(r.seg)
	}
	r.seg = append(r.seg[:0], r.seg[k:]...)
}

var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// qpReader decodes quoted-printable (RFC 2045 §6.7) leniently: "=XX" with
// hex digits of either case is a byte, "=" before white space and a line
// break is a soft line break, any other "=" is kept, white space at the
// end of a line is dropped, and line breaks are kept as they are.
type qpReader struct {
	br  *bufio.Reader
	ws  []byte // white space held back
	out []byte // decoded, out[pos:] pending
	pos int
	err error
}

func newQPReader(r io.Reader) io.Reader {
	return &qpReader{br: bufio.NewReaderSize(r, 32<<10)}
}

func (r *qpReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.pos < len(r.out) {
			c := copy(p[n:], r.out[r.pos:])
			r.pos += c
			n += c
			continue
		}
		if r.err != nil {
			break
		}
		r.out, r.pos = r.out[:0], 0
		r.step()
	}
	if n > 0 {
		return n, nil
	}
	return 0, r.err
}

// step decodes the next input byte into r.out.
func (r *qpReader) step() {
	c, err := r.br.ReadByte()
	if err != nil {
		r.ws, r.err = r.ws[:0], err // the last line's trailing white space
		return
	}
	switch c {
	case ' ', '\t':
		if len(r.ws) == maxWS {
			r.flushWS()
		}
		r.ws = append(r.ws, c)
	case '\n':
		r.ws = r.ws[:0]
		r.out = append(r.out, c)
	case '\r':
		if next, _ := r.br.Peek(1); len(next) == 1 && next[0] == '\n' {
			_, _ = r.br.Discard(1)
			r.ws = r.ws[:0]
			r.out = append(r.out, '\r', '\n')
			return
		}
		r.flushWS()
		r.out = append(r.out, c)
	case '=':
		r.flushWS()
		r.equals()
	default:
		r.flushWS()
		r.out = append(r.out, c)
		r.plainRun()
	}
}

// plainRun copies the buffered bytes that need no decoding in one go.
func (r *qpReader) plainRun() {
	buf, _ := r.br.Peek(r.br.Buffered())
	i := 0
	for i < len(buf) && !qpSpecial[buf[i]] {
		i++
	}
	r.out = append(r.out, buf[:i]...)
	_, _ = r.br.Discard(i)
}

var qpSpecial = [256]bool{' ': true, '\t': true, '\r': true, '\n': true, '=': true}

func (r *qpReader) flushWS() {
	r.out = append(r.out, r.ws...)
	r.ws = r.ws[:0]
}

// equals handles what follows an "=".
func (r *qpReader) equals() {
	if h, _ := r.br.Peek(2); len(h) == 2 && isHex(h[0]) && isHex(h[1]) {
		_, _ = r.br.Discard(2)
		r.out = append(r.out, unhex(h[0])<<4|unhex(h[1]))
		return
	}
	// Soft line break: "=" transport-padding CRLF (RFC 2045 §6.7 rule 5).
	look, err := r.br.Peek(maxWS + 2)
	i := 0
	for i < len(look) && (look[i] == ' ' || look[i] == '\t') {
		i++
	}
	switch {
	case i < len(look) && look[i] == '\n':
		_, _ = r.br.Discard(i + 1)
	case i+1 < len(look) && look[i] == '\r' && look[i+1] == '\n':
		_, _ = r.br.Discard(i + 2)
	case i == len(look) && err != nil: // "=" at the end of the input
		_, _ = r.br.Discard(i)
	default:
		r.out = append(r.out, '=')
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
