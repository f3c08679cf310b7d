package queue

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/store"
)

// Message refusals decided before sending, RFC 3463.
var (
	errTooBig      = permanent(552, "5.3.4", "Message too big for the destination system")
	errNeedsUTF8   = permanent(553, "5.6.7", "Destination does not support SMTPUTF8, which this message needs (RFC 6531)")
	errNeeds8Bit   = permanent(554, "5.6.3", "Destination does not support 8BITMIME, which this message needs (RFC 6152)")
	errRequireTLS  = permanent(550, "5.7.10", "REQUIRETLS: no verified TLS path that supports REQUIRETLS (RFC 8689)")
	errNoValidRcpt = temporary(451, "4.3.0", "No recipient accepted")
)

// transaction is one message sent on a client: the pending recipients'
// indexes in the entry and their replies.
type transaction struct {
	e       *store.QueuedMessage
	idx     []int    // indexes of pending recipients
	replies []*Reply // one per idx
	dsn     bool     // the server took DSN parameters (RFC 3461)
	remote  string   // "mx.b.test[127.0.0.1]"
}

// check refuses a message the server cannot take, before MAIL.
func (c *client) check(e *store.QueuedMessage) *Reply {
	size := e.Size + int64(len(e.Headers))
	if v, ok := c.ext["SIZE"]; ok {
		if max, err := strconv.ParseInt(v, 10, 64); err == nil && max > 0 && size > max {
			return errTooBig
		}
	}
	if e.SMTPUTF8 && !c.has("SMTPUTF8") {
		return errNeedsUTF8
	}
	if e.Body8Bit && !c.has("8BITMIME") {
		return errNeeds8Bit
	}
	if e.RequireTLS && (!c.verified || !c.has("REQUIRETLS")) {
		return errRequireTLS
	}
	return nil
}

func (c *client) mailCmd(e *store.QueuedMessage) string {
	var b strings.Builder
	fmt.Fprintf(&b, "MAIL FROM:<%s>", e.Sender)
	if c.has("SIZE") {
		fmt.Fprintf(&b, " SIZE=%d", e.Size+int64(len(e.Headers)))
	}
	if e.Body8Bit {
		b.WriteString(" BODY=8BITMIME")
	}
	if e.SMTPUTF8 {
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
func (c *client) send(ctx context.Context, e *store.QueuedMessage, body func() (io.ReadCloser, error)) (*transaction, error) {
	t := &transaction{e: e, dsn: c.has("DSN"), remote: c.remote()}
	for i, st := range e.Status {
		if st.State == store.RcptPending {
			t.idx = append(t.idx, i)
		}
	}
	if r := c.check(e); r != nil {
		t.all(r)
		return t, nil
	}
	rd, err := body()
	if err != nil {
		t.all(temporary(451, "4.3.0", "reading queued message: "+err.Error()))
		return t, nil
	}
	defer rd.Close()
	pipelined := c.has("PIPELINING")
	chunking := c.has("CHUNKING")
	size := e.Size + int64(len(e.Headers))

	c.write("%s", c.mailCmd(e))
	if !pipelined {
		if err := c.flush(c.to.Mail); err != nil {
			return t, err
		}
		r, err := c.readReply(c.to.Mail)
		if err != nil {
			return t, err
		}
		if r.Code != 250 {
			t.all(r)
			return t, c.rset()
		}
	}
	for _, i := range t.idx {
		c.write("%s", c.rcptCmd(e.Recipients[i], e.Status[i]))
		if !pipelined {
			if err := c.flush(c.to.Rcpt); err != nil {
				return t, err
			}
			r, err := c.readReply(c.to.Rcpt)
			if err != nil {
				return t, err
			}
			t.replies = append(t.replies, r)
		}
	}
	// RFC 2920 §3.1: DATA (or BDAT with RFC 3030) ends the pipelined group.
	if pipelined && chunking {
		fmt.Fprintf(c.w, "BDAT %d LAST\r\n%s", size, e.Headers)
		if _, err := io.Copy(c.w, rd); err != nil {
			c.broken = true
			return t, err
		}
	} else if pipelined {
		c.write("DATA")
	}
	if pipelined {
		if err := c.flush(c.to.DataBlock); err != nil {
			return t, err
		}
		r, err := c.readReply(c.to.Mail)
		if err != nil {
			return t, err
		}
		for range t.idx {
			rr, err := c.readReply(c.to.Rcpt)
			if err != nil {
				return t, err
			}
			t.replies = append(t.replies, rr)
		}
		if r.Code != 250 {
			t.replies = nil
			t.all(r)
			// The DATA or BDAT reply is still to come.
			if _, err := c.readReply(c.to.DataTerm); err != nil {
				return t, err
			}
			if !chunking {
				return t, c.rset()
			}
			return t, nil
		}
	}
	if !t.anyAccepted() {
		if pipelined {
			// Read the DATA/BDAT refusal (RFC 2920 §3.1).
			if r, err := c.readReply(c.to.DataInit); err != nil {
				return t, err
			} else if r.Code == 354 {
				c.w.WriteString(".\r\n")
				if err := c.flush(c.to.DataTerm); err != nil {
					return t, err
				}
				if _, err := c.readReply(c.to.DataTerm); err != nil {
					return t, err
				}
			}
		}
		return t, c.rset()
	}
	var final *Reply
	if pipelined && chunking {
		final, err = c.readReply(c.to.DataTerm)
	} else {
		final, err = c.data(e, rd, pipelined, chunking, size)
	}
	if err != nil {
		return t, err
	}
	t.final(final)
	return t, nil
}

// data sends the body after the recipients: DATA (unless already
// pipelined) or BDAT, and returns the final reply.
func (c *client) data(e *store.QueuedMessage, rd io.Reader, pipelined, chunking bool, size int64) (*Reply, error) {
	if chunking {
		fmt.Fprintf(c.w, "BDAT %d LAST\r\n%s", size, e.Headers)
		if _, err := io.Copy(c.w, rd); err != nil {
			c.broken = true
			return nil, err
		}
	} else {
		if !pipelined {
			c.write("DATA")
			if err := c.flush(c.to.DataInit); err != nil {
				return nil, err
			}
		}
		r, err := c.readReply(c.to.DataInit)
		if err != nil {
			return nil, err
		}
		if r.Code != 354 {
			return r, nil
		}
		dw := &dotWriter{w: c.w, bol: true}
		io.WriteString(dw, e.Headers)
		if _, err := io.Copy(dw, rd); err != nil {
			c.broken = true
			return nil, err
		}
		dw.Close()
	}
	if err := c.flush(c.to.DataBlock); err != nil {
		return nil, err
	}
	return c.readReply(c.to.DataTerm)
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
