package message

import (
	"bufio"
	"errors"
	"io"
)

// bufSize is the longest line fragment the scanner hands out. Longer lines
// arrive as several fragments; only the first has bol set.
const bufSize = 64 << 10

// scanner hands out the input one line (or line fragment) at a time and
// keeps the bookkeeping offsets need: the offset of the current line, how
// many LFs came before it and the last bytes before it.
type scanner struct {
	br      *bufio.Reader
	line    []byte  // current fragment, terminator included; nil at the end
	bol     bool    // line starts at the beginning of a line
	partial bool    // line is a fragment that does not end the line
	off     int64   // offset of line
	lfs     int64   // LFs before off
	tail    [3]byte // the 3 bytes before off; tail[2] is at off-1
	err     error   // first read error other than io.EOF
}

func newScanner(r io.Reader) *scanner {
	s := &scanner{br: bufio.NewReaderSize(r, bufSize), bol: true}
	s.read()
	return s
}

// advance consumes the current fragment and reads the next one.
func (s *scanner) advance() {
	n := len(s.line)
	if n == 0 {
		return
	}
	s.off += int64(n)
	if s.line[n-1] == '\n' {
		s.lfs++
	}
	for i := max(0, n-3); i < n; i++ {
		s.tail[0], s.tail[1], s.tail[2] = s.tail[1], s.tail[2], s.line[i]
	}
	s.bol = !s.partial
	s.read()
}

func (s *scanner) read() {
	line, err := s.br.ReadSlice('\n')
	s.partial = errors.Is(err, bufio.ErrBufferFull)
	switch {
	case err == nil || s.partial:
	case errors.Is(err, io.EOF):
	default:
		s.err = err
		line = nil // stop at the first read error
	}
	if len(line) == 0 {
		line = nil
	}
	s.line = line
}

// eof reports whether the input is exhausted (or failed).
func (s *scanner) eof() bool { return s.line == nil }

// blank reports whether the current line is an empty line.
func (s *scanner) blank() bool {
	l := s.line
	return s.bol && (len(l) == 1 && l[0] == '\n' || len(l) == 2 && l[0] == '\r' && l[1] == '\n')
}

// stop is where a body ends: at a boundary line or at the end of input.
type stop struct {
	level  int   // index of the matched boundary in parser.bounds, -1 at end of input
	close  bool  // the boundary was a close-delimiter ("--b--")
	end    int64 // body end: before the line break preceding the boundary
	lfs    int64 // LFs in [0, end)
	lastLF bool  // the byte at end-1 is an LF
}

// stopHere describes a body ending at the current line, which is the
// boundary line at level (or the end of input when level is -1).
// RFC 2046 §5.1.1: the CRLF preceding the boundary belongs to the boundary.
func (s *scanner) stopHere(level int, close bool) stop {
	k := 0
	if level >= 0 && s.off > 0 && s.tail[2] == '\n' {
		k = 1
		if s.off > 1 && s.tail[1] == '\r' {
			k = 2
		}
	}
	st := stop{level: level, close: close, end: s.off - int64(k), lfs: s.lfs}
	if k > 0 {
		st.lfs--
	}
	if st.end > 0 {
		st.lastLF = s.tail[2-k] == '\n'
	}
	return st
}
