package queue

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

// notify sends the sender a DSN (RFC 3464) for the recipients idx of e
// with action "failed", "delayed" or "relayed". Never to the null
// sender: that is how bounces are marked, and a bounce is never bounced.
func (r *Runner) notify(ctx context.Context, e *store.QueuedMessage, idx []int, action string) {
	if e.Sender == "" || len(idx) == 0 {
		return
	}
	if action == "failed" {
		var keep []int
		for _, i := range idx {
			if notifies(e.Status[i].Notify, "FAILURE") {
				keep = append(keep, i)
			}
		}
		if idx = keep; len(idx) == 0 {
			return
		}
	}
	msg, err := r.buildDSN(ctx, e, idx, action)
	if err != nil {
		r.log.Error("dsn build failed", "id", e.ID, "err", err)
		return
	}
	if err := r.sendDSN(ctx, e.Sender, msg); err != nil {
		r.log.Error("dsn delivery failed", "id", e.ID, "to", e.Sender, "err", err)
		return
	}
	r.log.Info("dsn sent", "id", e.ID, "to", e.Sender, "action", action, "recipients", len(idx))
}

// sendDSN hands a DSN to the delivery pipeline with the null sender: to
// the INBOX of a local sender, or into the queue for a remote one.
func (r *Runner) sendDSN(ctx context.Context, to string, msg []byte) error {
	p := r.opts.Pipeline
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return err
	}
	route := delivery.Route{Recipient: to, Remote: []string{to}}
	if local, err := p.IsLocal(ctx, addr); err != nil {
		return err
	} else if local {
		if route, err = p.Resolve(ctx, addr); err != nil {
			return err
		}
	}
	rec, err := p.Receive(ctx, bytes.NewReader(msg))
	if err != nil {
		return err
	}
	for _, err := range p.Deliver(ctx, delivery.Envelope{Routes: []delivery.Route{route}}, rec) {
		if err != nil {
			return err
		}
	}
	if len(route.Remote) > 0 {
		r.Kick()
	}
	return nil
}

var dsnSubjects = map[string]string{
	"failed":  "Undelivered Mail Returned to Sender",
	"delayed": "Delayed Mail (still being retried)",
	"relayed": "Successful Mail Delivery Report",
}

// buildDSN writes the multipart/report (RFC 6522) with a human-readable
// part, message/delivery-status (RFC 3464 §2) and the original headers,
// or the whole message with RET=FULL.
func (r *Runner) buildDSN(ctx context.Context, e *store.QueuedMessage, idx []int, action string) ([]byte, error) {
	var b bytes.Buffer
	now := r.now()
	boundary := randomID()
	host := r.opts.Hostname
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", host)
	fmt.Fprintf(&b, "To: <%s>\r\n", e.Sender)
	fmt.Fprintf(&b, "Subject: %s\r\n", dsnSubjects[action])
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", randomID(), host)
	b.WriteString("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n") // RFC 3834 §5
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is the mail system at %s.\r\n\r\n", host)
	switch action {
	case "failed":
		b.WriteString("Your message could not be delivered to the following recipients:\r\n\r\n")
	case "delayed":
		fmt.Fprintf(&b, "Your message has not been delivered yet to the following recipients. It will be retried until %s.\r\n\r\n",
			e.Created.Add(r.opts.MaxAge).UTC().Format(time.RFC1123Z))
	case "relayed":
		b.WriteString("Your message was relayed to the following recipients, whose servers will not send further reports:\r\n\r\n")
	}
	for _, i := range idx {
		fmt.Fprintf(&b, "<%s>: %s\r\n", e.Recipients[i], e.Status[i].Reply)
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\n", host)
	if e.EnvID != "" {
		fmt.Fprintf(&b, "Original-Envelope-Id: %s\r\n", e.EnvID)
	}
	fmt.Fprintf(&b, "Arrival-Date: %s\r\n", e.Created.Format(time.RFC1123Z))
	for _, i := range idx {
		r.writeRecipientFields(&b, e, i, action, now)
	}
	if err := r.writeOriginal(ctx, &b, e, boundary); err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nil
}

// writeRecipientFields writes one per-recipient block (RFC 3464 §2.3).
func (r *Runner) writeRecipientFields(b *bytes.Buffer, e *store.QueuedMessage, i int, action string, now time.Time) {
	st := e.Status[i]
	b.WriteString("\r\n")
	if st.ORcpt != "" {
		fmt.Fprintf(b, "Original-Recipient: %s\r\n", st.ORcpt)
	}
	fmt.Fprintf(b, "Final-Recipient: rfc822; %s\r\n", e.Recipients[i])
	fmt.Fprintf(b, "Action: %s\r\n", action)
	remote, reply := splitReply(st.Reply)
	status := "5.0.0"
	switch {
	case action == "relayed":
		status = "2.0.0"
	case action == "delayed":
		status = "4.0.0"
	}
	if rep := parseReplyText(reply); rep != nil && action != "relayed" {
		status = rep.Status()
		if action == "failed" && strings.HasPrefix(status, "4") {
			status = "5" + status[1:] // given up: the last temporary reply as final
		}
	}
	fmt.Fprintf(b, "Status: %s\r\n", status)
	if remote != "" {
		host, _, _ := strings.Cut(remote, "[")
		fmt.Fprintf(b, "Remote-MTA: dns; %s\r\n", host)
	}
	if reply != "" {
		fmt.Fprintf(b, "Diagnostic-Code: smtp; %s\r\n", reply)
	}
	fmt.Fprintf(b, "Last-Attempt-Date: %s\r\n", now.Format(time.RFC1123Z))
	if action == "delayed" {
		fmt.Fprintf(b, "Will-Retry-Until: %s\r\n", e.Created.Add(r.opts.MaxAge).Format(time.RFC1123Z))
	}
}

// splitReply splits "mx.b.test[127.0.0.1]: 550 …" into host and reply.
func splitReply(s string) (remote, reply string) {
	if i := strings.Index(s, "]: "); i > 0 && !strings.ContainsAny(s[:i], " ") {
		return s[:i+1], s[i+3:]
	}
	return "", s
}

// parseReplyText reads "550 5.1.1 text" back into a Reply.
func parseReplyText(s string) *Reply {
	code, rest, _ := strings.Cut(s, " ")
	var n int
	if _, err := fmt.Sscanf(code, "%d", &n); err != nil || n < 200 || n > 599 {
		return nil
	}
	r := &Reply{Code: n}
	if enh, _, ok := strings.Cut(rest, " "); ok && isEnhanced(enh, n) {
		r.Enhanced = enh
	}
	return r
}

// writeOriginal appends the original message (RET=FULL) or its header.
func (r *Runner) writeOriginal(ctx context.Context, b *bytes.Buffer, e *store.QueuedMessage, boundary string) error {
	blob, err := r.opts.Store.Blobs().Open(ctx, e.BlobID)
	if err != nil {
		return err
	}
	defer blob.Close()
	if strings.EqualFold(e.Ret, "FULL") {
		fmt.Fprintf(b, "\r\n--%s\r\nContent-Type: message/rfc822\r\n\r\n%s", boundary, e.Headers)
		if _, err := io.Copy(b, blob); err != nil {
			return err
		}
		if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
			b.WriteString("\r\n")
		}
		return nil
	}
	fmt.Fprintf(b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n%s", boundary, e.Headers)
	br := bufio.NewReader(blob)
	for {
		line, err := br.ReadString('\n')
		if strings.TrimRight(line, "\r\n") == "" {
			break
		}
		b.WriteString(line)
		if err != nil {
			b.WriteString("\r\n")
			break
		}
	}
	b.WriteString("\r\n")
	return nil
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
