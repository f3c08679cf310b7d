package pop3d

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
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

// send streams a message from its blob as a multi-line response, with at
// most bodyLines lines of body (all when negative). The bytes are never
// held whole here; a read error mid-stream ends the session, since the
// response cannot be taken back.
func (s *session) send(arg string, bodyLines int) error {
	i, bad := s.drop.get(arg)
	if bad != "" {
		s.reply("-ERR %s", bad)
		return nil
	}
	m := s.drop.msgs[i]
	blob, err := s.srv.opts.Store.Blobs().Open(s.ctx, m.BlobID)
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

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}

// writeBody copies a message to w as the body of a multi-line response
// (RFC 1939 §3): lines end in CRLF (a bare LF becomes CRLF), a line
// starting with "." gets another, and the last line is terminated. With
// bodyLines >= 0 it stops after that many lines following the header's
// blank line (RFC 1939 §7 TOP).
func writeBody(w *bufio.Writer, r io.Reader, bodyLines int) error {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() { br.Reset(nil); readers.Put(br) }()
	lw := lineWriter{w: w, startOfLine: true, inHeader: true, bodyLines: bodyLines}
	for {
		chunk, err := br.ReadSlice('\n')
		if !lw.write(chunk) {
			return nil
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			lw.finish()
			return nil
		default:
			return err
		}
	}
}

// lineWriter is writeBody's state across chunks; a chunk is a whole line
// (ending in LF) or, for lines longer than the reader's buffer, a piece.
type lineWriter struct {
	w           *bufio.Writer
	startOfLine bool
	pendingCR   bool // a piece ended in CR: it may be half of a CRLF
	inHeader    bool
	bodyLines   int // lines of body still to send; negative: all
}

// write sends one chunk; it returns false once TOP's line count is reached.
func (lw *lineWriter) write(chunk []byte) bool {
	if len(chunk) == 0 {
		return true
	}
	if lw.startOfLine && !lw.startLine(chunk) {
		return false
	}
	if lw.pendingCR {
		lw.pendingCR = false
		if chunk[0] != '\n' {
			lw.w.WriteByte('\r')
		}
	}
	if chunk[len(chunk)-1] != '\n' {
		if chunk[len(chunk)-1] == '\r' {
			chunk, lw.pendingCR = chunk[:len(chunk)-1], true
		}
		lw.w.Write(chunk)
		lw.startOfLine = false
		return true
	}
	chunk = chunk[:len(chunk)-1]
	if len(chunk) > 0 && chunk[len(chunk)-1] == '\r' {
		chunk = chunk[:len(chunk)-1]
	}
	lw.w.Write(chunk)
	lw.w.WriteString("\r\n")
	lw.startOfLine = true
	return true
}

// startLine handles the beginning of a line: TOP's count, the header's
// end, and dot-stuffing. It returns false when the line is not to be sent.
func (lw *lineWriter) startLine(chunk []byte) bool {
	switch {
	case lw.inHeader:
		if chunk[0] == '\n' || (chunk[0] == '\r' && len(chunk) > 1 && chunk[1] == '\n') {
			lw.inHeader = false // RFC 5322 §2.1: the blank line ends the header
		}
	case lw.bodyLines == 0:
		return false
	case lw.bodyLines > 0:
		lw.bodyLines--
	}
	if chunk[0] == '.' {
		lw.w.WriteByte('.')
	}
	return true
}

// finish terminates a last line that had no line ending.
func (lw *lineWriter) finish() {
	if lw.pendingCR || !lw.startOfLine {
		lw.w.WriteString("\r\n")
	}
	lw.pendingCR = false
}
