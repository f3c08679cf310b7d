package queue

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/store"
)

// Message refusals decided before sending, RFC 3463.
var (
	errTooBig     = permanent(552, "5.3.4", "Message too big for the destination system")
	errNeedsUTF8  = permanent(553, "5.6.7", "Destination does not support SMTPUTF8, which this message needs (RFC 6531)")
	errNeeds8Bit  = permanent(554, "5.6.3", "Destination does not support 8BITMIME, which this message needs (RFC 6152)")
	errRequireTLS = permanent(550, "5.7.10", "REQUIRETLS: no verified TLS path that supports REQUIRETLS (RFC 8689)")
)

// transaction is one message sent on a client: the pending recipients'
// indexes in the entry and their replies.
type transaction struct {
	e       *store.QueuedMessage
	idx     []int    // indexes of pending recipients
	replies []*Reply // one per idx
	dsn     bool     // the server took DSN parameters (RFC 3461)
	remote  string   // "mx.b.test[127.0.0.1]"
	utf8    bool     // MAIL says SMTPUTF8
	body8   bool     // MAIL says BODY=8BITMIME
	chunk   bool     // send with BDAT (RFC 3030)
}

// check refuses a message the server cannot take, before MAIL. Many
// clients (Go's net/smtp among them) ask for SMTPUTF8 and 8BITMIME
// whenever they are offered: when the server lacks one, the message is
// scanned, and sent without the parameter if it does not need it.
func (c *client) check(t *transaction, msg store.Blob) *Reply {
	e := t.e
	size := e.Size + int64(len(e.Headers))
	if v, ok := c.ext["SIZE"]; ok {
		if max, err := strconv.ParseInt(v, 10, 64); err == nil && max > 0 && size > max {
			return errTooBig
		}
	}
	t.utf8, t.body8 = e.SMTPUTF8, e.Body8Bit
	if t.utf8 && !c.has("SMTPUTF8") {
		if !asciiEnvelope(e) || has8Bit(msg, true) {
			return errNeedsUTF8
		}
		t.utf8 = false
	}
	if t.body8 && !c.has("8BITMIME") {
		if has8Bit(msg, false) {
			return errNeeds8Bit
		}
		t.body8 = false
	}
	if e.RequireTLS && (!c.verified || !c.trusted || !c.has("REQUIRETLS")) {
		return errRequireTLS
	}
	// BDAT sends the bytes as stored; a message with a bare LF or CR
	// (which go-smtp keeps) goes by DATA, whose writer makes every line
	// end CRLF, since receivers refuse bare line ends (SMTP smuggling).
	t.chunk = c.has("CHUNKING") && !hasBareLineEnd(msg)
	return nil
}

// hasBareLineEnd reports whether msg holds an LF not after a CR or a CR
// not before an LF.
func hasBareLineEnd(msg store.Blob) bool {
	buf := make([]byte, 32<<10)
	var prev byte
	for off := int64(0); off < msg.Size(); {
		n, err := msg.ReadAt(buf, off)
		for i, c := range buf[:n] {
			if (c == '\n' && prev != '\r') || (prev == '\r' && c != '\n') {
				return true
			}
			prev = buf[i]
		}
		off += int64(n)
		if err != nil {
			break
		}
	}
	return prev == '\r'
}

// asciiEnvelope reports whether the sender and every recipient are ASCII.
func asciiEnvelope(e *store.QueuedMessage) bool {
	for _, a := range append([]string{e.Sender}, e.Recipients...) {
		if !isASCII(a) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// has8Bit reports whether msg (only its header with headerOnly) holds a
// byte above 127.
func has8Bit(msg store.Blob, headerOnly bool) bool {
	br := bufio.NewReader(io.NewSectionReader(msg, 0, msg.Size()))
	for {
		line, err := br.ReadSlice('\n')
		if !isASCII(string(line)) {
			return true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil || (headerOnly && len(bytes.TrimRight(line, "\r\n")) == 0) {
			return false
		}
	}
}

func (c *client) mailCmd(t *transaction) string {
	e := t.e
	var b strings.Builder
	fmt.Fprintf(&b, "MAIL FROM:<%s>", e.Sender)
	if c.has("SIZE") {
		fmt.Fprintf(&b, " SIZE=%d", e.Size+int64(len(e.Headers)))
	}
	if t.body8 {
		b.WriteString(" BODY=8BITMIME")
	}
	if t.utf8 {
		b.WriteString(" SMTPUTF8")
	}
	if e.RequireTLS {
		b.WriteString(" REQUIRETLS")
	}
	if c.has("DSN") {
		if e.Ret != "" {
			b.WriteString(" RET=" + e.Ret)
		}
		if e.EnvID != "" {
			b.WriteString(" ENVID=" + xtext(e.EnvID))
		}
	}
	return b.String()
}

func (c *client) rcptCmd(addr string, st store.RecipientStatus) string {
	s := "RCPT TO:<" + addr + ">"
	if c.has("DSN") {
		if st.Notify != "" {
			s += " NOTIFY=" + st.Notify
		}
		if st.ORcpt != "" {
			if typ, a, ok := strings.Cut(st.ORcpt, ";"); ok {
				s += " ORCPT=" + typ + ";" + xtext(a)
			}
		}
	}
	return s
}

// xtext encodes s per RFC 3461 §4.
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < '!' || ch > '~' || ch == '+' || ch == '=' {
			fmt.Fprintf(&b, "+%02X", ch)
		} else {
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// send runs one mail transaction for e's pending recipients. It returns a
// reply per pending recipient; an error means the connection failed and
// every pending recipient is still pending.
func (c *client) send(ctx context.Context, e *store.QueuedMessage, body func() (store.Blob, error)) (*transaction, error) {
	t := &transaction{e: e, dsn: c.has("DSN"), remote: c.remote()}
	for i, st := range e.Status {
		if st.State == store.RcptPending {
			t.idx = append(t.idx, i)
		}
	}
	rd, err := body()
	if err != nil {
		t.all(temporary(451, "4.3.0", "reading queued message: "+err.Error()))
		return t, nil
	}
	defer rd.Close()
	if r := c.check(t, rd); r != nil {
		t.all(r)
		return t, nil
	}
	if c.has("PIPELINING") {
		return t, c.sendPipelined(t, rd)
	}
	return t, c.sendStepwise(t, rd)
}

// sendStepwise waits for each reply before the next command.
func (c *client) sendStepwise(t *transaction, rd io.Reader) error {
	r, err := c.cmd(c.to.Mail, "%s", c.mailCmd(t))
	if err != nil {
		return err
	}
	if r.Code != 250 {
		t.all(r)
		return c.rset()
	}
	for _, i := range t.idx {
		r, err := c.cmd(c.to.Rcpt, "%s", c.rcptCmd(t.e.Recipients[i], t.e.Status[i]))
		if err != nil {
			return err
		}
		t.replies = append(t.replies, r)
	}
	if !t.anyAccepted() {
		return c.rset()
	}
	if t.chunk {
		return c.bdat(t, rd)
	}
	if r, err = c.cmd(c.to.DataInit, "DATA"); err != nil {
		return err
	}
	if r.Code != 354 {
		t.final(r)
		return nil
	}
	return c.dotBody(t, rd)
}

// sendPipelined sends MAIL, every RCPT and DATA (or, with CHUNKING, the
// whole message in one BDAT LAST) in one write, then reads the replies
// in order (RFC 2920 §3.1, RFC 3030 §4).
func (c *client) sendPipelined(t *transaction, rd io.Reader) error {
	chunking := t.chunk
	c.write("%s", c.mailCmd(t))
	for _, i := range t.idx {
		c.write("%s", c.rcptCmd(t.e.Recipients[i], t.e.Status[i]))
	}
	if chunking {
		if err := c.writeBDAT(t, rd); err != nil {
			return err
		}
	} else {
		c.write("DATA")
	}
	if err := c.flush(c.to.DataBlock); err != nil {
		return err
	}
	mailReply, err := c.readReply(c.to.Mail)
	if err != nil {
		return err
	}
	for range t.idx {
		r, err := c.readReply(c.to.Rcpt)
		if err != nil {
			return err
		}
		t.replies = append(t.replies, r)
	}
	end, err := c.readReply(c.to.DataTerm)
	if err != nil {
		return err
	}
	if mailReply.Code != 250 {
		t.all(mailReply)
	}
	if mailReply.Code != 250 || !t.anyAccepted() {
		if end.Code == 354 { // RFC 2920 §3.1: end the empty DATA
			if _, err := c.cmd(c.to.DataTerm, "."); err != nil {
				return err
			}
		}
		return c.rset()
	}
	if chunking || end.Code != 354 {
		t.final(end)
		return nil
	}
	return c.dotBody(t, rd)
}

// writeBDAT writes "BDAT n LAST" and the exact message bytes (RFC 3030).
func (c *client) writeBDAT(t *transaction, rd io.Reader) error {
	fmt.Fprintf(c.w, "BDAT %d LAST\r\n%s", t.e.Size+int64(len(t.e.Headers)), t.e.Headers)
	if _, err := io.Copy(c.w, rd); err != nil {
		c.broken = true
		return err
	}
	return nil
}

// bdat sends the message in one chunk and applies the reply.
func (c *client) bdat(t *transaction, rd io.Reader) error {
	if err := c.writeBDAT(t, rd); err != nil {
		return err
	}
	return c.endOfData(t)
}

// dotBody sends the DATA body after a 354 and applies the final reply.
func (c *client) dotBody(t *transaction, rd io.Reader) error {
	dw := &dotWriter{w: c.w, bol: true}
	io.WriteString(dw, t.e.Headers)
	if _, err := io.Copy(dw, rd); err != nil {
		c.broken = true
		return err
	}
	dw.Close()
	return c.endOfData(t)
}

// endOfData sends what is buffered and applies the final reply to the
// accepted recipients (RFC 5321 §4.5.3.2.6: up to 10 minutes).
func (c *client) endOfData(t *transaction) error {
	if err := c.flush(c.to.DataBlock); err != nil {
		return err
	}
	r, err := c.readReply(c.to.DataTerm)
	if err != nil {
		return err
	}
	t.final(r)
	return nil
}

func (c *client) rset() error {
	r, err := c.cmd(c.to.Mail, "RSET")
	if err == nil && r.Code != 250 {
		c.broken = true
	}
	return err
}

// all gives every pending recipient the same reply.
func (t *transaction) all(r *Reply) {
	t.replies = make([]*Reply, len(t.idx))
	for i := range t.replies {
		t.replies[i] = r
	}
}

func (t *transaction) anyAccepted() bool {
	for _, r := range t.replies {
		if r.Code/100 == 2 {
			return true
		}
	}
	return false
}

// final applies the end-of-data reply to the accepted recipients.
func (t *transaction) final(r *Reply) {
	for i, rr := range t.replies {
		if rr.Code/100 == 2 {
			t.replies[i] = r
		}
	}
}
