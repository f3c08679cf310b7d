package imapd

import (
	"encoding/base64"
	"net/netip"
	"testing"
	"time"

	"facteur.dev/facteur/internal/auth"
)

// TestLoginsRecorded: a successful LOGIN or AUTHENTICATE records the
// client IP and account for POP-before-SMTP; a failed one does not.
func TestLoginsRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	logins := auth.NewRecentLogins(time.Hour, 0)
	addr := e.start(func(o *Options) { o.RecentLogins = logins })
	ip := netip.MustParseAddr("127.0.0.1")
	c := e.dial(addr)
	c.cmd("a", "LOGIN alice@example.test wrong", "NO [AUTHENTICATIONFAILED]")
	if a, ok := logins.Lookup(ip, time.Now(), time.Hour); ok {
		t.Fatalf("failed login recorded for %s", a)
	}
	c.login()
	if a, ok := logins.Lookup(ip, time.Now(), time.Hour); !ok || a != "alice@example.test" {
		t.Fatalf("after LOGIN: %q %v", a, ok)
	}
	ir := base64.StdEncoding.EncodeToString([]byte("\x00bob@example.test\x00" + password))
	e.dial(addr).cmd("b", "AUTHENTICATE PLAIN "+ir, "OK")
	if a, _ := logins.Lookup(ip, time.Now(), time.Hour); a != "bob@example.test" {
		t.Fatalf("after AUTHENTICATE: %q", a)
	}
}
