package smtpd

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// enumerate pipelines n RCPTs of unknown users after MAIL and returns the
// replies the server sent before it closed the connection.
func enumerate(t *testing.T, addr string, n int) []string {
	t.Helper()
	c := greeted(t, addr)
	cmds := []string{"MAIL FROM:<probe@remote.example>"}
	for i := range n {
		cmds = append(cmds, fmt.Sprintf("RCPT TO:<user%d@example.test>", i))
	}
	c.SendAll(cmds)
	return c.UntilClosed()
}

// 1,000 pipelined RCPTs of unknown users: the first SoftErrors refusals
// come at once, the next ones ErrorSleep apart, and the HardErrors-th
// ends the session with 421 4.7.0; the rest are never answered.
func TestRecipientEnumerationEndsTheSession(t *testing.T) {
	e := newEnv(t)
	const sleep = 30 * time.Millisecond
	addr := e.serve(MX, false, func(o *Options) { o.ErrorSleep = sleep })
	start := time.Now()
	replies := enumerate(t, addr, 1000)
	elapsed := time.Since(start)
	want := 1 + defaultHardErrors // the 250 to MAIL, then the refusals
	if len(replies) != want {
		t.Fatalf("%d replies before the close, want %d: %q", len(replies), want, replies)
	}
	for i, r := range replies[1 : len(replies)-1] {
		if !strings.HasPrefix(r, "550 5.1.1") {
			t.Fatalf("reply %d: %q", i+1, r)
		}
	}
	if last := replies[len(replies)-1]; !strings.HasPrefix(last, "421 4.7.0") {
		t.Fatalf("last reply %q, want 421 4.7.0", last)
	}
	if min := (defaultHardErrors - defaultSoftErrors) * sleep; elapsed < min {
		t.Fatalf("the %d refusals past the soft limit took %v, want at least %v", defaultHardErrors-defaultSoftErrors, elapsed, min)
	}
}

// An address that keeps probing from new sessions is over its hourly
// count: its next session ends at its first refused recipient, while a
// real recipient is still accepted; another listener's count (another
// Server) is its own.
func TestRecipientEnumerationCountedPerIP(t *testing.T) {
	e := newEnv(t)
	addr := e.serve(MX, false, func(o *Options) {
		o.ErrorSleep = time.Millisecond
		o.RcptErrorsPerIP = 2 * defaultHardErrors
	})
	for range 2 {
		if n := len(enumerate(t, addr, 100)); n != 1+defaultHardErrors {
			t.Fatalf("%d replies in a session under the per-address limit", n)
		}
	}
	c := mxSession(t, addr)
	c.Expect("RCPT TO:<bob@example.test>", "250")
	c.Expect("RCPT TO:<nobody@example.test>", "421 4.7.0")
	if rest := c.UntilClosed(); len(rest) != 0 {
		t.Fatalf("after the 421: %q", rest)
	}
}

// Trusted networks (a local relay) are not counted.
func TestRecipientErrorsOfTrustedClientsNotCounted(t *testing.T) {
	e := newEnv(t)
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	c := greeted(t, e.serve(MX, false, func(o *Options) { o.Trusted = loopback }))
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	for i := range 3 * defaultHardErrors {
		c.Expect(fmt.Sprintf("RCPT TO:<user%d@example.test>", i), "550 5.1.1")
	}
	c.Expect("RCPT TO:<alice@example.test>", "250")
}
