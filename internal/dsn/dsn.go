// Package dsn writes delivery status notifications (RFC 3464): a
// multipart/report (RFC 6522) with a human-readable part, a
// message/delivery-status part with one block per recipient, and the
// original message's header (text/rfc822-headers) or, with RET=FULL, the
// whole message (message/rfc822).
package dsn

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// Recipient is one per-recipient block (RFC 3464 §2.3).
type Recipient struct {
	Final      string // the address, "rfc822; " is added
	Original   string // ORCPT as given, "rfc822;addr", "" for none
	Action     string // failed, delayed, delivered, relayed, expanded
	Status     string // RFC 3463, such as "5.1.1"
	RemoteMTA  string // host name of the server that answered, "" for none
	Diagnostic string // the server's reply, "550 5.1.1 …", "" for none
	Human      string // the line for the human-readable part
	RetryUntil time.Time
}

// Report is one DSN to one sender.
type Report struct {
	ReportingMTA string // our host name
	To           string // the original sender
	EnvID        string // RFC 3461 ENVID, "" for none
	Arrival      time.Time
	Date         time.Time
	Recipients   []Recipient
	Original     io.Reader // the original message
	Full         bool      // RET=FULL: return the whole message
	// Boundary and MessageID are random when empty (tests fix them).
	Boundary, MessageID string
}

var subjects = map[string]string{
	"failed":    "Undelivered Mail Returned to Sender",
	"delayed":   "Delayed Mail (still being retried)",
	"relayed":   "Successful Mail Delivery Report",
	"delivered": "Successful Mail Delivery Report",
}

var intros = map[string]string{
	"failed":    "Your message could not be delivered to the following recipients:",
	"delayed":   "Your message has not been delivered yet to the following recipients; it will be retried.",
	"relayed":   "Your message was relayed to the following recipients, whose servers will not send further reports:",
	"delivered": "Your message was delivered to the following recipients:",
}

// Build writes the report. Every recipient should share one action.
func Build(r Report) ([]byte, error) {
	if r.Boundary == "" {
		r.Boundary = random()
	}
	if r.MessageID == "" {
		r.MessageID = random() + "@" + r.ReportingMTA
	}
	action := "failed"
	if len(r.Recipients) > 0 {
		action = r.Recipients[0].Action
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", r.ReportingMTA)
	fmt.Fprintf(&b, "To: <%s>\r\n", r.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", subjects[action])
	fmt.Fprintf(&b, "Date: %s\r\n", r.Date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", r.MessageID)
	b.WriteString("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n") // RFC 3834 §5
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", r.Boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", r.Boundary)
	fmt.Fprintf(&b, "This is the mail system at %s.\r\n\r\n%s\r\n\r\n", r.ReportingMTA, intros[action])
	for _, rc := range r.Recipients {
		fmt.Fprintf(&b, "<%s>: %s\r\n", rc.Final, rc.Human)
	}
	status := "message/delivery-status"
	if r.international() {
		status = "message/global-delivery-status" // RFC 6533 §6.1
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: %s\r\n\r\n", r.Boundary, status)
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\n", r.ReportingMTA)
	if r.EnvID != "" {
		fmt.Fprintf(&b, "Original-Envelope-Id: %s\r\n", r.EnvID)
	}
	fmt.Fprintf(&b, "Arrival-Date: %s\r\n", r.Arrival.Format(time.RFC1123Z))
	for _, rc := range r.Recipients {
		writeRecipient(&b, rc, r.Date)
	}
	if err := writeOriginal(&b, r); err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, "--%s--\r\n", r.Boundary)
	return b.Bytes(), nil
}

// international reports whether an address needs RFC 6533's UTF-8 forms.
func (r Report) international() bool {
	for _, rc := range r.Recipients {
		if !ascii(rc.Final) || !ascii(rc.Original) {
			return true
		}
	}
	return false
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func writeRecipient(b *bytes.Buffer, rc Recipient, now time.Time) {
	b.WriteString("\r\n")
	if rc.Original != "" {
		fmt.Fprintf(b, "Original-Recipient: %s\r\n", rc.Original)
	}
	addrType := "rfc822"
	if !ascii(rc.Final) {
		addrType = "utf-8" // RFC 6533 §3
	}
	fmt.Fprintf(b, "Final-Recipient: %s; %s\r\n", addrType, rc.Final)
	fmt.Fprintf(b, "Action: %s\r\n", rc.Action)
	fmt.Fprintf(b, "Status: %s\r\n", rc.Status)
	if rc.RemoteMTA != "" {
		fmt.Fprintf(b, "Remote-MTA: dns; %s\r\n", rc.RemoteMTA)
	}
	if rc.Diagnostic != "" {
		fmt.Fprintf(b, "Diagnostic-Code: smtp; %s\r\n", rc.Diagnostic)
	}
	fmt.Fprintf(b, "Last-Attempt-Date: %s\r\n", now.Format(time.RFC1123Z))
	if !rc.RetryUntil.IsZero() {
		fmt.Fprintf(b, "Will-Retry-Until: %s\r\n", rc.RetryUntil.Format(time.RFC1123Z))
	}
}

// writeOriginal appends the whole message (RET=FULL) or its header.
func writeOriginal(b *bytes.Buffer, r Report) error {
	if r.Full {
		fmt.Fprintf(b, "\r\n--%s\r\nContent-Type: message/rfc822\r\n\r\n", r.Boundary)
		if _, err := io.Copy(b, r.Original); err != nil {
			return err
		}
		if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
			b.WriteString("\r\n")
		}
		return nil
	}
	fmt.Fprintf(b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", r.Boundary)
	br := bufio.NewReader(r.Original)
	for {
		line, err := br.ReadString('\n')
		if strings.TrimRight(line, "\r\n") == "" {
			break
		}
		b.WriteString(line)
		if err != nil {
			if err != io.EOF {
				return err
			}
			b.WriteString("\r\n")
			break
		}
	}
	b.WriteString("\r\n")
	return nil
}

func random() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
