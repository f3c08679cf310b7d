package pop3d

import (
	"context"
	"encoding/base64"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"facteur.dev/facteur/internal/auth"
)

func TestCapaBeforeAndAfterSTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, addr := e.start(nil)
	c := e.dial(addr)
	common := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "UTF8"}
	tail := []string{"EXPIRE NEVER", "LOGIN-DELAY 0", "IMPLEMENTATION Facteur"}
	want := slices.Concat(common, []string{"STLS"}, tail)
	if got := c.multi("CAPA"); !slices.Equal(got, want) {
		t.Fatalf("CAPA before STLS:\n%q\nwant\n%q", got, want)
	}
	c.expect("USER alice@example.test", "-ERR [AUTH]")
	c.expect("PASS "+password, "-ERR [AUTH]")
	c.expect("AUTH PLAIN", "-ERR [AUTH]")
	c.ok("STLS")
	c.StartTLS(e.clientTLS)
	want = slices.Concat(common, []string{"USER", "SASL PLAIN SCRAM-SHA-256"}, tail)
	if got := c.multi("CAPA"); !slices.Equal(got, want) {
		t.Fatalf("CAPA after STLS:\n%q\nwant\n%q", got, want)
	}
	c.expect("STLS", "-ERR")
	c.ok("USER alice@example.test")
	c.ok("PASS " + password)
	want = slices.Concat(common, tail)
	if got := c.multi("CAPA"); !slices.Equal(got, want) {
		t.Fatalf("CAPA in TRANSACTION:\n%q\nwant\n%q", got, want)
	}
	c.ok("QUIT")
}

// STLS must not let plaintext pipelined after it into the TLS session.
func TestSTLSDropsPipelinedPlaintext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, addr := e.start(nil)
	c := e.dial(addr)
	c.Send("STLS\r\nUSER mallory@example.test")
	c.ok("")
	c.StartTLS(e.clientTLS)
	c.expect("PASS "+password, "-ERR USER first")
}

func TestImplicitTLSLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, addr := e.start(func(o *Options) { o.ImplicitTLS = true })
	c := e.dialTLS(addr)
	if caps := c.multi("CAPA"); slices.Contains(caps, "STLS") || !slices.Contains(caps, "USER") {
		t.Fatalf("CAPA over implicit TLS: %q", caps)
	}
	c.ok("USER alice@example.test")
	c.expect("PASS "+password, "+OK Maildrop has 0 messages")
}

func TestUserPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver("alice@example.test", msg("one"))
	addr := e.serve()
	c := e.dial(addr)
	c.expect("PASS "+password, "-ERR USER first")
	c.expect("STAT", "-ERR") // not in AUTHORIZATION
	c.ok("USER alice@example.test")
	c.expect("PASS wrong", "-ERR [AUTH]")
	c.ok("USER nobody@example.test")
	c.expect("PASS "+password, "-ERR [AUTH]")
	c.ok("user ALICE@example.test") // keywords and addresses are case-insensitive
	c.expect("PASS "+password, "+OK Maildrop has 1 messages (")
	c.expect("USER alice@example.test", "-ERR") // not in TRANSACTION
	c.ok("NOOP")
	c.ok("QUIT")
}

func TestFailedLoginsAreLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.serve()
	c := e.dial(addr)
	for range 3 {
		c.ok("USER bob@example.test")
		c.expect("PASS wrong", "-ERR [AUTH]")
	}
	c.ok("USER bob@example.test")
	c.expect("PASS "+password, "-ERR [SYS/TEMP]")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthPlain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.serve()
	c := e.dial(addr)
	if got := c.multi("AUTH"); !slices.Equal(got, []string{"PLAIN", "SCRAM-SHA-256"}) {
		t.Fatalf("AUTH list: %q", got)
	}
	c.expect("AUTH LOGIN", "-ERR")
	c.expect("AUTH PLAIN "+b64("\x00alice@example.test\x00wrong"), "-ERR [AUTH]")
	c.expect("AUTH PLAIN "+b64("bob@example.test\x00alice@example.test\x00"+password), "-ERR [AUTH]")
	c.expect("AUTH PLAIN", "+ ")
	c.expect("*", "-ERR")
	c.expect("AUTH PLAIN", "+ ")
	c.expect("not base64!", "-ERR")
	c.expect("AUTH PLAIN", "+ ")
	c.expect(b64("\x00alice@example.test\x00"+password), "+OK Maildrop has 0 messages")
	c.ok("QUIT")
	c = e.dial(addr)
	c.expect("AUTH plain "+b64("alice@example.test\x00alice@example.test\x00"+password), "+OK")
}

// SCRAM-SHA-256 with the xdg-go/scram client: the server-final message
// comes as a challenge and the client answers with an empty response.
func TestAuthSCRAM(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.serve()
	for _, tc := range []struct{ pass, want string }{{"wrong", "-ERR [AUTH]"}, {password, "+OK"}} {
		client, err := scram.SHA256.NewClient("alice@example.test", tc.pass, "")
		if err != nil {
			t.Fatal(err)
		}
		conv := client.NewConversation()
		first, _ := conv.Step("")
		c := e.dial(addr)
		chal := c.expect("AUTH SCRAM-SHA-256 "+b64(first), "+ ")
		serverFirst, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(chal, "+ "))
		final, err := conv.Step(string(serverFirst))
		if err != nil {
			t.Fatal(err)
		}
		r := c.expect(b64(final), "")
		if tc.pass == password {
			serverFinal, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r, "+ "))
			if _, err := conv.Step(string(serverFinal)); err != nil {
				t.Fatalf("server signature: %v (%q)", err, r)
			}
			c.Send("") // the empty response to the server-final message
			r = c.Line()
		}
		if !strings.HasPrefix(r, tc.want) {
			t.Fatalf("password %q: got %q, want %q", tc.pass, r, tc.want)
		}
	}
}

func TestUTF8(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.serve()
	c := e.dial(addr)
	c.ok("UTF8")
	c.ok("USER alice@example.test")
	c.ok("PASS " + password)
	c.expect("UTF8", "-ERR") // RFC 6856 §2: AUTHORIZATION only
}

func TestInUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver("alice@example.test", msg("one"))
	addr := e.serve()
	_, tlsAddr := e.start(func(o *Options) { o.ImplicitTLS = true })
	first := e.login(addr, "alice@example.test")
	second := e.dial(addr)
	second.ok("USER alice@example.test")
	second.expect("PASS "+password, "-ERR [IN-USE]")
	// The lock is per maildrop, across listeners sharing Locks.
	viaTLS := e.dialTLS(tlsAddr)
	viaTLS.ok("USER alice@example.test")
	viaTLS.expect("PASS "+password, "-ERR [IN-USE]")
	e.login(addr, "bob@example.test") // another maildrop
	// Still in AUTHORIZATION (RFC 1939 §4): the client may retry.
	second.expect("STAT", "-ERR")
	first.ok("QUIT")
	second.ok("USER alice@example.test")
	second.expect("PASS "+password, "+OK Maildrop has 1 messages")
}

func TestLineTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.serve()
	c := e.dial(addr)
	c.expect("USER "+strings.Repeat("a", 10000), "-ERR Line too long")
	c.expect("FOO", "-ERR Unknown command")
	c.ok("QUIT")
}

func TestShutdownClosesIdleSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver("alice@example.test", msg("one"))
	srv, addr := e.start(func(o *Options) { o.PlaintextNetworks = loopback })
	c := e.login(addr, "alice@example.test")
	c.ok("DELE 1")
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	box, msgs := e.mailbox("alice@example.test", "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("shutdown applied a DELE: %d messages", len(msgs))
	}
	if !e.locks.TryLock(box.ID) {
		t.Fatal("maildrop still locked after shutdown")
	}
}

// RFC 1939 §3: the autologout timer is at least 10 minutes.
func TestIdleTimeoutAtLeastTenMinutes(t *testing.T) {
	t.Parallel()
	if got := New(Options{IdleTimeout: time.Second}).opts.IdleTimeout; got != 10*time.Minute {
		t.Fatalf("idle timeout %v", got)
	}
}

// TestLoginsRecorded: a successful login, USER/PASS or AUTH, records
// the client IP and account for POP-before-SMTP; a failed one does not.
func TestLoginsRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	logins := auth.NewRecentLogins(time.Hour, 0)
	_, addr := e.start(func(o *Options) { o.PlaintextNetworks, o.RecentLogins = loopback, logins })
	ip := netip.MustParseAddr("127.0.0.1")
	c := e.dial(addr)
	c.ok("USER alice@example.test")
	c.expect("PASS wrong", "-ERR [AUTH]")
	if a, ok := logins.Lookup(ip, time.Now(), time.Hour); ok {
		t.Fatalf("failed login recorded for %s", a)
	}
	c.ok("USER alice@example.test")
	c.ok("PASS " + password)
	if a, ok := logins.Lookup(ip, time.Now(), time.Hour); !ok || a != "alice@example.test" {
		t.Fatalf("after PASS: %q %v", a, ok)
	}
	e.dial(addr).ok("AUTH PLAIN " + b64("\x00bob@example.test\x00"+password))
	if a, _ := logins.Lookup(ip, time.Now(), time.Hour); a != "bob@example.test" {
		t.Fatalf("after AUTH: %q", a)
	}
}
