package arc

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
)

// relaxedHeader is the "relaxed" canonical form of a header field (RFC
// 6376 §3.4.2): the name in lower case, the value unfolded, runs of white
// space made one space, none at the ends of the value or around the colon.
func relaxedHeader(raw string) string {
	name, value, _ := strings.Cut(raw, ":")
	value = strings.Join(strings.FieldsFunc(value, isWSP), " ")
	return strings.ToLower(strings.TrimFunc(name, isWSP)) + ":" + value + "\r\n"
}

// canonHeader is raw in the "simple" (RFC 6376 §3.4.1, unchanged) or the
// "relaxed" form.
func canonHeader(raw string, relaxed bool) string {
	if relaxed {
		return relaxedHeader(raw)
	}
	return raw
}

// withoutB is a signature field with the value of its b= tag, and the
// white space around it, removed (RFC 6376 §3.7: the signature field
// enters its own hash so). Only the tag named b is touched, not bh.
func withoutB(raw string) string {
	name, value, _ := strings.Cut(raw, ":")
	specs := strings.Split(value, ";")
	for i, spec := range specs {
		if tag, _, ok := strings.Cut(spec, "="); ok && strings.TrimFunc(tag, isWSP) == "b" {
			specs[i] = tag + "="
		}
	}
	return name + ":" + strings.Join(specs, ";")
}

// signedField is the last piece of a signature's hash input: the
// signature field itself, b= empty, canonical, without its final CRLF
// (RFC 6376 §3.7).
func signedField(raw string, relaxed bool) string {
	return strings.TrimSuffix(canonHeader(withoutB(raw), relaxed), "\r\n")
}

// bodyKey names one body hash: canonicalization and l= length limit
// (RFC 6376 §3.5; -1 for none).
type bodyKey struct {
	relaxed bool
	limit   int64
}

// parseCanon reads a c= tag (RFC 6376 §3.5): header/body, each "simple"
// or "relaxed"; a lone algorithm is the header's, the body's is simple.
func parseCanon(c string) (header, body bool, err error) {
	h, b, _ := strings.Cut(c, "/")
	kind := func(s string) (bool, error) {
		switch s {
		case "", "simple":
			return false, nil
		case "relaxed":
			return true, nil
		}
		return false, fmt.Errorf("unknown canonicalization c=%s (RFC 6376 §3.5)", c)
	}
	if header, err = kind(h); err == nil {
		body, err = kind(b)
	}
	return header, body, err
}

// parseLength reads an l= tag; -1 when there is none.
func parseLength(l string) (int64, error) {
	if l == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(l, 10, 64)
	if err != nil || n < 0 || strings.TrimLeft(l, "0123456789") != "" {
		return 0, fmt.Errorf("malformed l=%s (RFC 6376 §3.5)", l)
	}
	return n, nil
}

// bodyHashes reads the body from r and returns its SHA-256 hash under
// each of keys (RFC 6376 §3.7), in one pass.
func bodyHashes(r *bufio.Reader, keys []bodyKey) (map[bodyKey][]byte, error) {
	hashers := map[bodyKey]*limitedHash{}
	var canons [2]*bodyCanon // simple, relaxed
	for _, k := range keys {
		if hashers[k] != nil {
			continue
		}
		h := &limitedHash{h: sha256.New(), left: k.limit}
		hashers[k] = h
		i := 0
		if k.relaxed {
			i = 1
		}
		if canons[i] == nil {
			canons[i] = &bodyCanon{relaxed: k.relaxed}
		}
		canons[i].ws = append(canons[i].ws, h)
	}
	if err := eachLine(r, func(line []byte) {
		for _, c := range canons {
			c.line(line)
		}
	}); err != nil {
		return nil, err
	}
	out := map[bodyKey][]byte{}
	for _, c := range canons {
		c.end()
	}
	for k, h := range hashers {
		out[k] = h.h.Sum(nil)
	}
	return out, nil
}

// eachLine calls fn with each line of r, without its line end (CRLF, or
// a lone LF as a lenient reading of what was stored).
func eachLine(r *bufio.Reader, fn func(line []byte)) error {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(buf) > 0 {
			line := buf
			if n := len(line); line[n-1] == '\n' {
				line = line[:n-1]
				if n > 1 && line[n-2] == '\r' {
					line = line[:n-2]
				}
			}
			fn(line)
		}
		buf = buf[:0]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// bodyCanon writes the canonical form of a body, given line by line
// (RFC 6376 §3.4.3 simple, §3.4.4 relaxed), to ws.
type bodyCanon struct {
	relaxed bool
	ws      []*limitedHash
	blank   int  // empty lines held back: trailing ones are dropped
	wrote   bool // some line was written
}

// A nil *bodyCanon ignores its input.
func (c *bodyCanon) line(l []byte) {
	if c == nil {
		return
	}
	if c.relaxed {
		l = relaxedLine(l)
	}
	if len(l) == 0 {
		c.blank++
		return
	}
	for ; c.blank > 0; c.blank-- {
		c.write([]byte("\r\n"))
	}
	c.write(l)
	c.write([]byte("\r\n"))
	c.wrote = true
}

// end finishes the body: an empty body is one CRLF in simple form and
// nothing in relaxed form (RFC 6376 §3.4.3, §3.4.4).
func (c *bodyCanon) end() {
	if c != nil && !c.relaxed && !c.wrote {
		c.write([]byte("\r\n"))
	}
}

func (c *bodyCanon) write(b []byte) {
	for _, w := range c.ws {
		w.write(b)
	}
}

// relaxedLine makes each run of white space one space and drops the
// white space at the end (RFC 6376 §3.4.4).
func relaxedLine(l []byte) []byte {
	out := make([]byte, 0, len(l))
	space := false
	for _, b := range l {
		if b == ' ' || b == '\t' {
			space = true
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, b)
	}
	return out
}

// limitedHash hashes at most left bytes (-1: all), for l= (RFC 6376
// §3.5).
type limitedHash struct {
	h    hash.Hash
	left int64
}

func (w *limitedHash) write(b []byte) {
	if w.left >= 0 {
		b = b[:min(int64(len(b)), w.left)]
		w.left -= int64(len(b))
	}
	w.h.Write(b)
}
