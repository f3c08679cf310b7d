package smtpd

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/testutil"
)

// fakeSigner "signs" every message with a fixed header.
type fakeSigner struct{}

func (fakeSigner) Sign(_ context.Context, domain string, _ io.Reader) (string, error) {
	return "DKIM-Signature: d=" + domain + "\r\n", nil
}

// popBeforeSMTP serves mode with POP-before-SMTP on (10 minutes) over
// logins, on clk, logging into logs.
func (e *env) popBeforeSMTP(mode Mode, logins *auth.RecentLogins, clk *testutil.Clock, logs io.Writer) string {
	return e.serve(mode, false, func(o *Options) {
		o.RecentLogins, o.PopBeforeSMTP, o.Now = logins, 10*time.Minute, clk.Now
		o.Log = slog.New(slog.NewTextHandler(logs, nil))
	})
}

// TestPopBeforeSMTP: after a POP3 or IMAP login from its IP, a client
// may submit without AUTH, to a remote address and with a sender of no
// account, but not with the null sender; the window ends; the MX
// listener never relays.
func TestPopBeforeSMTP(t *testing.T) {
	e := newEnv(t)
	e.pipeline.SetSigner(fakeSigner{})
	logins := auth.NewRecentLogins(10*time.Minute, 0)
	clk := testutil.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	var logs testutil.SyncBuffer
	sub := e.popBeforeSMTP(Submission, logins, clk, &logs)
	mx := e.popBeforeSMTP(MX, logins, clk, &logs)

	c := testutil.Dial(t, sub)
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<alice@example.test>", "530 5.7.0") // no login yet

	logins.Record(netip.MustParseAddr("127.0.0.1"), "alice@example.test", clk.Now())
	clk.Advance(9 * time.Minute)
	c.Expect("MAIL FROM:<>", "550 5.7.1")
	c.Expect("MAIL FROM:<list@elsewhere.example>", "250")
	c.Expect("RCPT TO:<friend@remote.example>", "250")
	if r := sendData(c, msg("list@elsewhere.example", "friend@remote.example", "relayed")); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA: %q", r)
	}
	c.Expect("MAIL FROM:<alice@example.test>", "250")
	c.Expect("RCPT TO:<friend@remote.example>", "250")
	if r := sendData(c, msg("alice@example.test", "friend@remote.example", "own")); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA: %q", r)
	}
	q, _ := e.store.ListQueue(context.Background())
	if len(q) != 2 || q[0].Sender != "list@elsewhere.example" || q[0].Recipients[0] != "friend@remote.example" {
		t.Fatalf("queue %+v", q)
	}
	// DKIM vouches only for the address of the account that logged in.
	if q[0].Headers != "" || q[1].Headers != "DKIM-Signature: d=example.test\r\n" {
		t.Fatalf("signatures %q, %q", q[0].Headers, q[1].Headers)
	}
	if l := logs.String(); !strings.Contains(l, "account=alice@example.test") || !strings.Contains(l, "ip=127.0.0.1") {
		t.Fatalf("log does not name the login:\n%s", l)
	}

	m := testutil.Dial(t, mx)
	m.Expect("", "220")
	m.Expect("EHLO client.example", "250")
	m.Expect("MAIL FROM:<alice@example.test>", "250")
	m.Expect("RCPT TO:<friend@remote.example>", "550 5.7.1")

	clk.Advance(time.Minute) // ten minutes after the login
	c.Expect("MAIL FROM:<alice@example.test>", "530 5.7.0")
}

// TestPopBeforeSMTPKeepsChecks: a client authorised by a recent login
// still gets the From header read strictly and a malformed sender
// refused; one that does AUTH is bound to its account as ever.
func TestPopBeforeSMTPKeepsChecks(t *testing.T) {
	e := newEnv(t)
	logins := auth.NewRecentLogins(10*time.Minute, 0)
	clk := testutil.NewClock(time.Now())
	sub := e.popBeforeSMTP(Submission, logins, clk, io.Discard)
	logins.Record(netip.MustParseAddr("127.0.0.1"), "alice@example.test", clk.Now())

	c := testutil.Dial(t, sub)
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<bob@-bad-.example>", "553 5.1.7")
	c.Expect("MAIL FROM:<bob@example.test>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	body := "From: <alice@example.test>\r\nFrom: <bob@example.test>\r\nSubject: t\r\n\r\nHi.\r\n.\r\n"
	if r := sendData(c, body); !strings.HasPrefix(r, "550 5.6.0") {
		t.Fatalf("two From fields: %q", r)
	}

	a := testutil.Dial(t, e.serve(Submission, false, func(o *Options) {
		o.RecentLogins, o.PopBeforeSMTP, o.Now = logins, 10*time.Minute, clk.Now
		o.PlaintextNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}))
	a.Expect("", "220")
	a.Expect("EHLO client.example", "250")
	a.Expect("AUTH PLAIN "+plain("alice@example.test", password), "235")
	a.Expect("MAIL FROM:<bob@example.test>", "550 5.7.1")
}

// TestPopBeforeSMTPOff: with no window, a recorded login opens nothing.
func TestPopBeforeSMTPOff(t *testing.T) {
	e := newEnv(t)
	logins := auth.NewRecentLogins(10*time.Minute, 0)
	logins.Record(netip.MustParseAddr("127.0.0.1"), "alice@example.test", time.Now())
	c := testutil.Dial(t, e.serve(Submission, false, func(o *Options) { o.RecentLogins = logins }))
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<alice@example.test>", "530 5.7.0")
}
