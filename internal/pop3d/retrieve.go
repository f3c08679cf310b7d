package pop3d

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"facteur.dev/facteur/internal/store"
)

// retr: RFC 1939 §5 RETR msg sends the whole message.
func (s *session) retr(arg string) error {
	return s.send(strings.TrimSpace(arg), -1)
}

// top: RFC 1939 §7 TOP msg n sends the header and n lines of the body.
func (s *session) top(arg string) error {
	msg, lines, _ := strings.Cut(strings.TrimSpace(arg), " ")
	n, err := strconv.Atoi(strings.TrimSpace(lines))
	if err != nil || n < 0 {
		s.reply("-ERR Usage: TOP msg n")
		return nil
	}
	return s.send(msg, n)
}

// send streams a message (store.OpenMessage: its Headers, then its blob)
// as a multi-line response, with at most bodyLines lines of body (all when
// negative). The bytes are never held whole here; a read error
// mid-stream ends the session, since the response cannot be taken back.
func (s *session) send(arg string, bodyLines int) error {
	i, bad := s.drop.get(arg)
	if bad != "" {
		s.reply("-ERR %s", bad)
		return nil
	}
	m := s.drop.msgs[i]
	blob, err := s.openBlob(i)
	if err != nil {
		s.log.Warn("pop3 open blob", "blob", m.BlobID, "err", err)
		s.reply("-ERR %sCannot read message, try again later", codeSysTemp)
		return nil
	}
	defer blob.Close()
	s.reply("+OK %d octets", m.Size)
	if err := writeBody(s.w, blob, bodyLines); err != nil {
		return err
	}
	s.w.WriteString(".\r\n")
	return nil
}

// Limits of what a session opens ahead for pipelined RETRs.
const (
	aheadMax   = 32
	aheadBytes = 1 << 20
)

// openBlob opens message i's bytes. When the client has pipelined more
// RETRs (RFC 2449 §6.6), their messages are opened with it in one store
// call and kept for them.
func (s *session) openBlob(i int) (store.Blob, error) {
	if b, ok := s.ahead[i]; ok {
		delete(s.ahead, i)
		return b, nil
	}
	idx := s.pipelinedRetrs(i)
	if len(idx) == 1 {
		return store.OpenMessage(s.ctx, s.srv.opts.Store.Blobs(), &s.drop.msgs[i])
	}
	msgs := make([]*store.Message, len(idx))
	for k, j := range idx {
		msgs[k] = &s.drop.msgs[j]
	}
	blobs, err := store.OpenMessages(s.ctx, s.srv.opts.Store.Blobs(), msgs)
	if err != nil {
		return nil, err
	}
	if s.ahead == nil {
		s.ahead = map[int]store.Blob{}
	}
	for k, j := range idx[1:] {
		s.ahead[j] = blobs[k+1]
	}
	return blobs[0], nil
}

// pipelinedRetrs returns i and the messages that the RETR commands
// already received after this one ask for, up to the first other command
// and within aheadMax and aheadBytes. It reads nothing from the
// connection.
func (s *session) pipelinedRetrs(i int) []int {
	idx := []int{i}
	size := s.drop.msgs[i].Size
	buf, _ := s.r.Peek(s.r.Buffered())
	for len(idx) < aheadMax && size < aheadBytes {
		line, rest, ok := bytes.Cut(buf, []byte("\n"))
		if !ok {
			break
		}
		buf = rest
		keyword, arg, _ := strings.Cut(strings.TrimSuffix(string(line), "\r"), " ")
		if !strings.EqualFold(keyword, "RETR") {
			break
		}
		j, bad := s.drop.get(strings.TrimSpace(arg))
		if _, dup := s.ahead[j]; bad != "" || dup || slices.Contains(idx, j) {
			continue
		}
		idx = append(idx, j)
		size += s.drop.msgs[j].Size
	}
	return idx
}

// closeAhead closes the blobs opened for RETRs that never came.
func (s *session) closeAhead() {
	for i, b := range s.ahead {
		b.Close()
		delete(s.ahead, i)
	}
}

// chunkSize is how much of a message writeBody reads at a time.
const chunkSize = 16 << 10

var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// writeBody copies a message to w as the body of a multi-line response
// (RFC 1939 §3): lines end in CRLF (a bare LF becomes CRLF), a line
// starting with "." gets another, and the last line is terminated. With
// bodyLines >= 0 it stops after that many lines following the header's
// blank line (RFC 1939 §7 TOP).
//
// The message is read in chunks and the runs of lines that need no change
// are written whole: a stored message normally has CRLF endings and few
// lines starting with ".", so this is about one copy per chunk.
func writeBody(w *bufio.Writer, r io.Reader, bodyLines int) error {
	bp := chunks.Get().(*[]byte)
	defer chunks.Put(bp)
	buf := *bp
	lw := lineWriter{w: w, startOfLine: true, inHeader: true, bodyLines: bodyLines}
	carry := 0 // a CR held back from the previous chunk
	for {
		n, err := r.Read(buf[carry:])
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return err
		}
		p := buf[:carry+n]
		carry = 0
		// A chunk never ends in CR, so a CRLF is never split between two.
		if len(p) > 0 && p[len(p)-1] == '\r' {
			p, carry = p[:len(p)-1], 1
		}
		if !lw.write(p) {
			return nil
		}
		if eof {
			if carry > 0 {
				lw.finalCR()
			}
			lw.finish()
			return nil
		}
		buf[0] = '\r' // harmless when carry is 0: it is overwritten
	}
}

// lineWriter is writeBody's state across chunks.
type lineWriter struct {
	w           *bufio.Writer
	startOfLine bool
	inHeader    bool
	bodyLines   int // lines of body still to send; negative: all
}

// write sends a chunk, which does not end in CR, writing unchanged runs of
// it at once; it returns false once TOP's line count is reached.
func (lw *lineWriter) write(p []byte) bool {
	run := 0 // start of what is not yet written
	for i := 0; i < len(p); {
		if lw.startOfLine {
			if !lw.startLine(p[i:]) {
				lw.w.Write(p[run:i])
				return false
			}
			if p[i] == '.' {
				lw.w.Write(p[run:i])
				lw.w.WriteByte('.')
				run = i
			}
			lw.startOfLine = false
		}
		nl := bytes.IndexByte(p[i:], '\n')
		if nl < 0 {
			break
		}
		nl += i
		if nl == 0 || p[nl-1] != '\r' { // a bare LF
			lw.w.Write(p[run:nl])
			lw.w.WriteString("\r\n")
			run = nl + 1
		}
		lw.startOfLine = true
		i = nl + 1
	}
	lw.w.Write(p[run:])
	return true
}

// startLine looks at the beginning of a line: TOP's count and the header's
// end. It returns false when the line is not to be sent.
func (lw *lineWriter) startLine(line []byte) bool {
	switch {
	case lw.inHeader:
		if line[0] == '\n' || (line[0] == '\r' && len(line) > 1 && line[1] == '\n') {
			lw.inHeader = false // RFC 5322 §2.1: the blank line ends the header
		}
	case lw.bodyLines == 0:
		return false
	case lw.bodyLines > 0:
		lw.bodyLines--
	}
	return true
}

// finalCR ends the message's last line, which ended in a CR and no LF.
func (lw *lineWriter) finalCR() {
	if lw.startOfLine && !lw.startLine([]byte{'\r'}) {
		return
	}
	lw.w.WriteString("\r\n")
	lw.startOfLine = true
}

// finish terminates a last line that had no line ending.
func (lw *lineWriter) finish() {
	if !lw.startOfLine {
		lw.w.WriteString("\r\n")
	}
}
