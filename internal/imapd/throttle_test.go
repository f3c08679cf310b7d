package imapd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"facteur.dev/facteur/internal/auth"
)

// countingLookup counts the logins the limiter lets through to a password
// check: each one looks its account up once.
type countingLookup struct {
	auth.Lookup
	n atomic.Int64
}

func (c *countingLookup) LookupAccount(ctx context.Context, address string) (auth.Account, error) {
	c.n.Add(1)
	return c.Lookup.LookupAccount(ctx, address)
}

// throttleEnv is an IMAP server whose Authenticator has the limits of
// the default configuration (10 per account and network, 20 per network)
// and counts its password checks.
func throttleEnv(t *testing.T) (addr string, checks *countingLookup) {
	t.Helper()
	e := newEnv(t)
	checks = &countingLookup{Lookup: auth.StoreLookup{Accounts: e.store}}
	e.auth = auth.New(checks, auth.Options{FailureDelay: time.Millisecond, MaxFailuresPerAccount: 10, MaxFailuresPerIP: 20,
		HashParams: auth.Params{Memory: 1024, Time: 1, Threads: 1}})
	return e.start(func(o *Options) { o.MaxConnsPerIP = 1000 }), checks
}

// loginFrom connects to addr from the loopback address from (Linux routes
// all of 127/8 to lo), sends LOGIN and returns the tagged reply.
func loginFrom(t *testing.T, addr, from, user, pass string) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Error(err)
		return ""
	}
	fmt.Fprintf(c, "a LOGIN %q %q\r\n", user, pass)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Error(err)
			return ""
		}
		if strings.HasPrefix(line, "a ") {
			return strings.TrimSpace(line)
		}
	}
}

// parallelLogins runs n logins at once, the i-th from from(i) as user(i)
// with a password no account has, and returns how many replies were
// refusals by the limiter ([UNAVAILABLE]).
func parallelLogins(t *testing.T, addr string, n int, from, user func(i int) string) int {
	t.Helper()
	var wg sync.WaitGroup
	var refused atomic.Int64
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			reply := loginFrom(t, addr, from(i), user(i), fmt.Sprint("guess ", i))
			if strings.Contains(reply, "[UNAVAILABLE]") {
				refused.Add(1)
			} else if !strings.Contains(reply, "[AUTHENTICATIONFAILED]") {
				t.Errorf("wrong password %d: %q", i, reply)
			}
		})
	}
	close(start)
	wg.Wait()
	return int(refused.Load())
}

// TestLoginBurstChecksAtMostTheLimit: 60 parallel wrong passwords from one
// IP for one account get at most 10 password checks, for 60 accounts at
// most 20; the rest are refused without one.
func TestLoginBurstChecksAtMostTheLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		user  func(int) string
		limit int
	}{
		{"one account", func(int) string { return "alice@example.test" }, 10},
		{"many accounts", func(i int) string { return fmt.Sprintf("u%d@example.test", i) }, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, checks := throttleEnv(t)
			refused := parallelLogins(t, addr, 60, func(int) string { return "127.0.0.2" }, tt.user)
			if n := checks.n.Load(); n > int64(tt.limit) || n == 0 {
				t.Errorf("%d passwords checked, want 1..%d", n, tt.limit)
			}
			if refused < 60-tt.limit {
				t.Errorf("%d of 60 refused by the limiter, want at least %d", refused, 60-tt.limit)
			}
		})
	}
}

// TestLoginSuccessKeepsOtherAccountsFailures: bob logging in from a network
// that has been guessing alice's password does not forgive those guesses.
func TestLoginSuccessKeepsOtherAccountsFailures(t *testing.T) {
	t.Parallel()
	addr, _ := throttleEnv(t)
	const ip = "127.0.0.3"
	for i := range 9 {
		if r := loginFrom(t, addr, ip, "alice@example.test", fmt.Sprint("guess ", i)); !strings.Contains(r, "[AUTHENTICATIONFAILED]") {
			t.Fatalf("guess %d: %q", i, r)
		}
	}
	if r := loginFrom(t, addr, ip, "bob@example.test", password); !strings.Contains(r, "OK") {
		t.Fatalf("bob's login: %q", r)
	}
	if r := loginFrom(t, addr, ip, "alice@example.test", "guess 9"); !strings.Contains(r, "[AUTHENTICATIONFAILED]") {
		t.Fatalf("tenth guess: %q", r)
	}
	if r := loginFrom(t, addr, ip, "alice@example.test", password); !strings.Contains(r, "[UNAVAILABLE]") {
		t.Errorf("alice from the guessing network after 10 failures and bob's success: %q, want [UNAVAILABLE]", r)
	}
	if r := loginFrom(t, addr, ip, "bob@example.test", password); !strings.Contains(r, "OK") {
		t.Errorf("bob again: %q", r)
	}
}

// TestNoAccountLockout: after 1,000 failed logins as alice from 10 IPs,
// alice's password from another IP still logs her in, within a second.
func TestNoAccountLockout(t *testing.T) {
	t.Parallel()
	addr, _ := throttleEnv(t)
	const per = 100
	var wg sync.WaitGroup
	for ip := range 10 {
		wg.Go(func() {
			parallelLogins(t, addr, per, func(int) string { return fmt.Sprintf("127.0.1.%d", ip+10) },
				func(int) string { return "alice@example.test" })
		})
	}
	wg.Wait()
	start := time.Now()
	r := loginFrom(t, addr, "127.0.2.1", "alice@example.test", password)
	if elapsed := time.Since(start); !strings.Contains(r, "OK") || elapsed > time.Second {
		t.Errorf("alice from a fresh IP after 1,000 failures: %q after %v, want OK within 1s", r, elapsed)
	}
	if r := loginFrom(t, addr, "127.0.1.10", "alice@example.test", password); !strings.Contains(r, "[UNAVAILABLE]") {
		t.Errorf("alice from a guessing IP: %q, want [UNAVAILABLE]", r)
	}
}
