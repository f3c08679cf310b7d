package sievefilter

import "io"

// prefixed is header lines put before a blob's bytes, read at any offset.
type prefixed struct {
	head string
	rest io.ReaderAt
	size int64 // of rest
}

// sized is a blob: a ReaderAt that knows its size.
type sized interface {
	io.ReaderAt
	Size() int64
}

func newPrefixed(head string, rest sized) *prefixed {
	return &prefixed{head: head, rest: rest, size: rest.Size()}
}

// Size is the length of the whole.
func (p *prefixed) Size() int64 { return int64(len(p.head)) + p.size }

// ReadAt implements io.ReaderAt.
func (p *prefixed) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := 0
	if off < int64(len(p.head)) {
		n = copy(b, p.head[off:])
		off += int64(n)
	}
	if n == len(b) {
		return n, nil
	}
	if off-int64(len(p.head)) >= p.size {
		return n, io.EOF
	}
	m, err := p.rest.ReadAt(b[n:], off-int64(len(p.head)))
	return n + m, err
}
