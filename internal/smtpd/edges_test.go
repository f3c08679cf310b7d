package smtpd

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store/sqlite"
	"facteur.dev/facteur/internal/testutil"
)

// sized returns a message of exactly n bytes (n ≥ 100), ending in CRLF,
// with lines of at most 998 bytes.
func sized(n int) string {
	var b strings.Builder
	b.WriteString("Subject: sized\r\n\r\n")
	for b.Len() < n {
		line := min(998, n-b.Len()-2)
		b.WriteString(strings.Repeat("z", max(line, 0)) + "\r\n")
	}
	if b.Len() != n {
		panic(fmt.Sprintf("sized(%d) made %d bytes", n, b.Len()))
	}
	return b.String()
}

// greeted connects to addr and says EHLO.
func greeted(t *testing.T, addr string) *testutil.Conn {
	t.Helper()
	c := testutil.Dial(t, addr)
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	return c
}

// mxSession connects to the MX listener and opens a transaction for alice.
func mxSession(t *testing.T, addr string) *testutil.Conn {
	t.Helper()
	c := greeted(t, addr)
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	return c
}

// bdat sends body as one BDAT LAST chunk and returns the reply.
func bdat(c *testutil.Conn, body string) string {
	c.Send(fmt.Sprintf("BDAT %d LAST", len(body)))
	c.Raw().Write([]byte(body))
	return c.Reply()
}

// The size limit is inclusive, and DATA and BDAT agree on it: a message
// of exactly limits.max_message_bytes is accepted by both, one byte more
// is refused by both with 552 5.3.4 (RFC 1870 §6.3 for SIZE), and the
// session goes on.
func TestSizeLimitInclusiveForDataAndBDAT(t *testing.T) {
	e := newEnv(t)
	addr := e.serve(MX, false, nil) // MaxMessageBytes 64 KiB
	limit := 64 << 10
	c := mxSession(t, addr)
	if r := sendData(c, sized(limit)+".\r\n"); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA of exactly the limit: %q", r)
	}
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	if r := bdat(c, sized(limit)); !strings.HasPrefix(r, "250") {
		t.Fatalf("BDAT of exactly the limit: %q", r)
	}
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	if r := sendData(c, sized(limit+1)+".\r\n"); !strings.HasPrefix(r, "552 5.3.4") {
		t.Fatalf("DATA of the limit + 1: %q", r)
	}
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	if r := bdat(c, sized(limit+1)); !strings.HasPrefix(r, "552 5.3.4") {
		t.Fatalf("BDAT of the limit + 1: %q", r)
	}
	c.Expect(fmt.Sprintf("MAIL FROM:<sender@remote.example> SIZE=%d", limit), "250")
	c.Expect("RSET", "250")
	c.Expect(fmt.Sprintf("MAIL FROM:<sender@remote.example> SIZE=%d", limit+1), "552")
	c.Expect("NOOP", "250")
	if mb, _ := e.inbox("alice@example.test"); mb.Messages != 2 {
		t.Fatalf("INBOX has %d messages, want the 2 at the limit", mb.Messages)
	}
}

// A message line far over 998 bytes (unwrapped HTML) is delivered intact
// by DATA, as by BDAT, and the session goes on; lines are still bounded
// by limits.max_line_length (64 KiB by default).
func TestLongMessageLinesKeptIntact(t *testing.T) {
	e := newEnv(t)
	addr := e.serve(MX, false, nil)
	long := "<p>" + strings.Repeat("y", 20000) + "</p>"
	c := mxSession(t, addr)
	if r := sendData(c, "Subject: long\r\n\r\n"+long+"\r\n.\r\n"); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA with a 20,007-byte line: %q", r)
	}
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	if r := bdat(c, "Subject: long2\r\n\r\n"+long+"\r\n"); !strings.HasPrefix(r, "250") {
		t.Fatalf("BDAT with a 20,007-byte line: %q", r)
	}
	c.Expect("NOOP", "250")
	_, msgs := e.inbox("alice@example.test")
	if len(msgs) != 2 {
		t.Fatalf("INBOX has %d messages", len(msgs))
	}
	for _, m := range msgs {
		if !strings.Contains(e.body(m), "\r\n"+long+"\r\n") {
			t.Errorf("message %s: the long line was not stored intact", m.Parsed.Envelope.Subject)
		}
	}
	c.Send("NOOP " + strings.Repeat("n", 70000)) // over the default 64 KiB
	if r := c.Reply(); !strings.HasPrefix(r, "500 5.4.0") {
		t.Fatalf("over-long command line: %q", r)
	}
}

// Control characters are refused in envelope addresses (RFC 5321 §4.1.2).
func TestControlCharactersInAddressesRefused(t *testing.T) {
	e := newEnv(t)
	c := greeted(t, e.serve(MX, false, nil))
	c.Expect("MAIL FROM:<a\x00b@remote.example>", "553 5.1.7")
	c.Expect("MAIL FROM:<a\x7fb@remote.example>", "553 5.1.7")
	c.Expect("MAIL FROM:<sender@evil..example>", "553 5.1.7")
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	c.Expect("RCPT TO:<ali\x01ce@example.test>", "501 5.1.3")
	c.Expect("RCPT TO:<alice@example.test>", "250")
}

// On port 465 the connection-limit refusal comes inside TLS.
func TestConnectionRefusalInsideImplicitTLS(t *testing.T) {
	e := newEnv(t)
	addr := e.serve(Submission, true, func(o *Options) { o.MaxConnections = 1 })
	e.dialTLS(addr) // holds the one slot
	conn, err := tls.Dial("tcp", addr, e.clientTLS)
	if err != nil {
		t.Fatalf("handshake with the refusing listener: %v", err)
	}
	defer conn.Close()
	testutil.Wrap(t, conn).Expect("", "421 4.7.0")
}

// On a full disk the sender hears 452 4.3.1 at MAIL (SIZE= or not) and
// at RCPT (the disk filled after MAIL), before it sends the message.
func TestFullDiskRefusedBeforeData(t *testing.T) {
	disk := testutil.Tmpfs(t, 4<<20)
	free, err := sqlite.FreeBytes(disk)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.pipeline.SetFreeSpace(func() (int64, error) { return sqlite.FreeBytes(disk) }, free-50_000)
	c := greeted(t, e.serve(MX, false, nil))
	c.Expect("MAIL FROM:<sender@remote.example> SIZE=60000", "452 4.3.1") // 1.5 × 60,000 > 50,000
	c.Expect("MAIL FROM:<sender@remote.example> SIZE=1000", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	testutil.FillDisk(t, disk)
	c.Expect("RCPT TO:<bob@example.test>", "452 4.3.1")
	c.Expect("RSET", "250")
	c.Expect("MAIL FROM:<sender@remote.example>", "452 4.3.1")
}

// With three quarters of the slots taken, a silent client is dropped
// after the stress timeout, while a message being transferred keeps the
// whole smtp_timeout.
func TestStressTimeoutSparesMessageTransfer(t *testing.T) {
	e := newEnv(t)
	const stress = 300 * time.Millisecond
	addr := e.serve(MX, false, func(o *Options) { o.MaxConnections, o.StressTimeout = 4, stress })
	slow := mxSession(t, addr)
	slow.Expect("DATA", "354")
	silent := greeted(t, addr)
	greeted(t, addr) // 3 of 4: stressed
	if r := silent.UntilClosed(); len(r) != 1 || !strings.HasPrefix(r[0], "421 4.4.2") {
		t.Fatalf("silent client under stress: %q", r)
	}
	// The silent one is gone; the transfer has outlived the stress timeout.
	slow.Raw().Write([]byte("Subject: slow\r\n\r\nslow body\r\n.\r\n"))
	if r := slow.Reply(); !strings.HasPrefix(r, "250") {
		t.Fatalf("slow transfer under stress: %q", r)
	}
}
