package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
)

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, address, password string
		want                    error
		wantID                  int64
	}{
		{"right", "alice@example.test", "secret", nil, 1},
		{"address case", "Alice@EXAMPLE.test", "secret", nil, 1},
		{"wrong", "alice@example.test", "Secret", ErrInvalidCredentials, 0},
		{"other account's password", "alice@example.test", "hunter2", ErrInvalidCredentials, 0},
		{"unknown", "nobody@example.test", "secret", ErrInvalidCredentials, 0},
		{"disabled", "dave@example.test", "secret", ErrInvalidCredentials, 0},
		{"empty", "", "", ErrInvalidCredentials, 0},
	}
	env := newTestEnv(t, Options{MaxFailuresPerAccount: -1, MaxFailuresPerIP: -1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acct, err := env.auth.CheckPassword(context.Background(), ip1, tt.address, tt.password)
			// The very same error value, so nothing tells unknown from wrong.
			if err != tt.want {
				t.Fatalf("CheckPassword(%q, %q) = %v, want %v", tt.address, tt.password, err, tt.want)
			}
			if acct.ID != tt.wantID {
				t.Errorf("CheckPassword(%q) account %d, want %d", tt.address, acct.ID, tt.wantID)
			}
		})
	}
}

// TestUnknownUserCostsAVerification checks that unknown and disabled
// accounts run argon2id like a wrong password does.
func TestUnknownUserCostsAVerification(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	for _, addr := range []string{"nobody@example.test", "dave@example.test", "alice@example.test"} {
		before := env.auth.verifications.Load()
		_, _ = env.auth.CheckPassword(context.Background(), ip1, addr, "wrong")
		if n := env.auth.verifications.Load() - before; n != 1 {
			t.Errorf("%s: %d argon2id verifications, want 1", addr, n)
		}
	}
}

type lookupFunc func(context.Context, string) (Account, error)

func (f lookupFunc) LookupAccount(ctx context.Context, a string) (Account, error) { return f(ctx, a) }

// TestLookupError checks that a failing store is reported as such, not as
// bad credentials, and not counted against the client.
func TestLookupError(t *testing.T) {
	t.Parallel()
	down := errors.New("database down")
	a := New(lookupFunc(func(context.Context, string) (Account, error) {
		return Account{}, down
	}), Options{HashParams: testParams, MaxFailuresPerIP: 1, FailureDelay: -1})
	for range 3 {
		_, err := a.CheckPassword(context.Background(), ip1, "alice@example.test", "x")
		if !errors.Is(err, down) {
			t.Fatalf("CheckPassword = %v, want wrapping %v", err, down)
		}
	}
	srv, _ := a.SASL(context.Background(), "SCRAM-SHA-256", ip1, nil)
	if err := exchange(srv, newSCRAMClient(t, "alice@example.test", "x", "")); !errors.Is(err, down) {
		t.Errorf("SCRAM exchange = %v, want wrapping %v", err, down)
	}
}

func TestMalformedStoredHash(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	env.lookup.set(Account{ID: 9, Address: "broken@example.test", PasswordHash: "$argon2id$garbage", SCRAM: "SCRAM-SHA-256$x"})
	if _, err := env.auth.CheckPassword(context.Background(), ip1, "broken@example.test", "x"); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("CheckPassword = %v, want ErrMalformedHash", err)
	}
	srv, _ := env.auth.SASL(context.Background(), "SCRAM-SHA-256", ip1, nil)
	if err := exchange(srv, newSCRAMClient(t, "broken@example.test", "x", "")); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("SCRAM exchange = %v, want ErrMalformedHash", err)
	}
}

// TestLimiterPerAccountAndNetwork checks that failures against an account
// refuse it from the failing network only: the owner's password still works
// from any other network (no lockout anyone could cause).
func TestLimiterPerAccountAndNetwork(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{MaxFailuresPerAccount: 3, MaxFailuresPerIP: 100, FailureWindow: time.Minute})
	ctx := context.Background()
	check := func(ip netip.Addr, addr, pw string, want error) {
		t.Helper()
		if _, err := env.auth.CheckPassword(ctx, ip, addr, pw); err != want {
			t.Fatalf("CheckPassword(%v, %s, %s) = %v, want %v", ip, addr, pw, err, want)
		}
	}
	for range 3 {
		check(ip1, "alice@example.test", "wrong", ErrInvalidCredentials)
	}
	before := env.auth.verifications.Load()
	check(ip1, "alice@example.test", "secret", ErrTooManyFailures)
	check(ip1, "ALICE@example.test", "secret", ErrTooManyFailures)
	if n := env.auth.verifications.Load() - before; n != 0 {
		t.Errorf("%d argon2id verifications while over the limit, want 0", n)
	}
	check(ip1, "bob@example.test", "hunter2", nil) // ip1 is under its own limit

	// SASL is limited by the same counters.
	srv, _ := env.auth.SASL(ctx, "PLAIN", ip1, nil)
	if err := exchange(srv, sasl.NewPlainClient("", "alice@example.test", "secret")); err != ErrTooManyFailures {
		t.Errorf("PLAIN while over limit: %v, want ErrTooManyFailures", err)
	}
	srv, _ = env.auth.SASL(ctx, "SCRAM-SHA-256", ip1, nil)
	if err := exchange(srv, newSCRAMClient(t, "alice@example.test", "secret", "")); err != ErrTooManyFailures {
		t.Errorf("SCRAM while over limit: %v, want ErrTooManyFailures", err)
	}

	// Another network is not refused, by any mechanism.
	check(ip2, "alice@example.test", "secret", nil)
	srv, _ = env.auth.SASL(ctx, "SCRAM-SHA-256", ip2, nil)
	if err := exchange(srv, newSCRAMClient(t, "alice@example.test", "secret", "")); err != nil {
		t.Errorf("SCRAM from another network: %v, want success", err)
	}

	env.clock.Advance(time.Minute)
	check(ip1, "alice@example.test", "secret", nil) // window over
}

// TestSuccessForgivesOnlyItsAccount checks that a right password forgives
// the failures of that account from that network, not the network's
// failures against other accounts.
func TestSuccessForgivesOnlyItsAccount(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{MaxFailuresPerAccount: 100, MaxFailuresPerIP: 4})
	ctx := context.Background()
	for range 3 {
		if _, err := env.auth.CheckPassword(ctx, ip1, "alice@example.test", "guess"); err != ErrInvalidCredentials {
			t.Fatal(err)
		}
	}
	if _, err := env.auth.CheckPassword(ctx, ip1, "bob@example.test", "hunter2"); err != nil {
		t.Fatalf("bob's own login: %v", err)
	}
	_, _ = env.auth.CheckPassword(ctx, ip1, "alice@example.test", "guess")
	if _, err := env.auth.CheckPassword(ctx, ip1, "bob@example.test", "hunter2"); err != ErrTooManyFailures {
		t.Errorf("after 4 failures against alice and a success as bob: %v, want ErrTooManyFailures", err)
	}
}

// TestAccountPenalty checks that an account failing from many networks
// gets longer failure delays, up to the cap, and never a refusal.
func TestAccountPenalty(t *testing.T) {
	t.Parallel()
	l := newLimiter(Options{MaxFailuresPerAccount: 2, MaxFailuresPerIP: 100, FailureDelay: time.Second,
		FailureWindow: time.Minute, Now: time.Now}, 100)
	var delays []time.Duration
	for i := range 12 {
		a, reason := l.reserve(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), "alice")
		if reason != "" {
			t.Fatalf("attempt %d refused: %s", i, reason)
		}
		d, _ := a.failed()
		delays = append(delays, d)
	}
	want := []time.Duration{1, 2, 2, 4, 4, 8, 8, 15, 15, 15, 15, 15}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(delays, want) {
		t.Errorf("delays %v, want %v", delays, want)
	}
}

func TestLimiterPerIP(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{MaxFailuresPerAccount: 100, MaxFailuresPerIP: 3})
	ctx := context.Background()
	for i := range 3 {
		addr := fmt.Sprintf("guess%d@example.test", i)
		if _, err := env.auth.CheckPassword(ctx, ip1, addr, "x"); err != ErrInvalidCredentials {
			t.Fatalf("CheckPassword(%s) = %v", addr, err)
		}
	}
	if _, err := env.auth.CheckPassword(ctx, ip1, "bob@example.test", "hunter2"); err != ErrTooManyFailures {
		t.Errorf("bob from blocked IP: %v, want ErrTooManyFailures", err)
	}
	if _, err := env.auth.CheckPassword(ctx, ip2, "bob@example.test", "hunter2"); err != nil {
		t.Errorf("bob from another IP: %v, want success", err)
	}
}

// TestLimiterSCRAMFailuresCount checks that failed SCRAM proofs count and
// that success resets the account's counter for that network.
func TestLimiterSCRAMFailuresCount(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{MaxFailuresPerAccount: 3, MaxFailuresPerIP: 100})
	ctx := context.Background()
	scramLogin := func(pw string) error {
		srv, _ := env.auth.SASL(ctx, "SCRAM-SHA-256", ip1, nil)
		return exchange(srv, newSCRAMClient(t, "alice@example.test", pw, ""))
	}
	for range 2 {
		if err := scramLogin("wrong"); err != ErrInvalidCredentials {
			t.Fatalf("wrong SCRAM proof: %v", err)
		}
	}
	if err := scramLogin("secret"); err != nil {
		t.Fatalf("right SCRAM proof after 2 failures: %v", err)
	}
	for range 2 { // counters were reset: 2 more are still under 3
		_ = scramLogin("wrong")
	}
	if _, err := env.auth.CheckPassword(ctx, ip1, "alice@example.test", "secret"); err != nil {
		t.Fatalf("CheckPassword after reset and 2 failures: %v", err)
	}
	for range 3 {
		_ = scramLogin("wrong")
	}
	if _, err := env.auth.CheckPassword(ctx, ip1, "alice@example.test", "secret"); err != ErrTooManyFailures {
		t.Errorf("CheckPassword after 3 SCRAM failures: %v, want ErrTooManyFailures", err)
	}
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		same bool
	}{
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"192.0.2.1", "::ffff:192.0.2.1", true},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"fe80::1%eth0", "fe80::2%eth1", true},
	}
	for _, tt := range tests {
		a, b := netip.MustParseAddr(tt.a), netip.MustParseAddr(tt.b)
		if same := ipKey(a) == ipKey(b); same != tt.same {
			t.Errorf("ipKey(%s) == ipKey(%s) is %v, want %v", tt.a, tt.b, same, tt.same)
		}
	}
	if ipKey(netip.Addr{}) != ipKey(netip.Addr{}) {
		t.Errorf("zero Addr has no stable key")
	}
}

func TestCountersBounded(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c := newCounters[string](4)
	for i := range 10 {
		c.inc(fmt.Sprint(i), now, time.Minute)
		if len(c.m) > 4 {
			t.Fatalf("after %d inserts: %d entries, want <= 4", i+1, len(c.m))
		}
	}
	c.inc("9", now, time.Minute)
	if got := c.count("9", now); got != 2 {
		t.Errorf("count of the last key = %d, want 2", got)
	}
	// Expired entries go first.
	later := now.Add(2 * time.Minute)
	c.inc("new", later, time.Minute)
	if len(c.m) != 1 || c.count("new", later) != 1 {
		t.Errorf("after expiry: %v, want only the new entry", c.m)
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{CacheTTL: time.Minute})
	ctx := context.Background()
	login := func(pw string, want error) {
		t.Helper()
		if _, err := env.auth.CheckPassword(ctx, ip1, "alice@example.test", pw); err != want {
			t.Fatalf("CheckPassword(%q) = %v, want %v", pw, err, want)
		}
	}
	steps := []struct {
		name      string
		do        func()
		password  string
		want      error
		verifying bool // whether argon2id runs
	}{
		{"first login", nil, "secret", nil, true},
		{"second login is cached", nil, "secret", nil, false},
		{"wrong password is not", nil, "wrong", ErrInvalidCredentials, true},
		{"still cached", nil, "secret", nil, false},
		{"new stored hash, same password", func() {
			env.lookup.set(newAccount(t, 1, "alice@example.test", "secret"))
		}, "secret", nil, true},
		{"cached again", nil, "secret", nil, false},
		{"password changed", func() {
			env.lookup.set(newAccount(t, 1, "alice@example.test", "new secret"))
		}, "secret", ErrInvalidCredentials, true},
		{"new password", nil, "new secret", nil, true},
		{"TTL over", func() { env.clock.Advance(time.Minute) }, "new secret", nil, true},
		{"disabled account not served from cache", func() {
			a, _ := env.lookup.LookupAccount(ctx, "alice@example.test")
			a.Disabled = true
			env.lookup.set(a)
		}, "new secret", ErrInvalidCredentials, true},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		verifications, lookups := env.auth.verifications.Load(), env.lookup.calls.Load()
		login(s.password, s.want)
		if ran := env.auth.verifications.Load() > verifications; ran != s.verifying {
			t.Errorf("%s: argon2id ran %v, want %v", s.name, ran, s.verifying)
		}
		if env.lookup.calls.Load() != lookups+1 {
			t.Errorf("%s: lookup not called exactly once", s.name)
		}
	}
}

func TestCacheDisabled(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{CacheTTL: -1})
	for range 2 {
		_, _ = env.auth.CheckPassword(context.Background(), ip1, "alice@example.test", "secret")
	}
	if n := env.auth.verifications.Load(); n != 2 {
		t.Errorf("%d verifications with the cache off, want 2", n)
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c := newVerifyCache(time.Minute, 3)
	key := func(i byte) [32]byte { return [32]byte{i} }
	for i := range byte(5) {
		c.add(key(i), now)
	}
	if c.len() != 3 {
		t.Errorf("len = %d, want 3", c.len())
	}
	for i, want := range []bool{false, false, true, true, true} {
		if got := c.hit(key(byte(i)), now); got != want {
			t.Errorf("hit(%d) = %v, want %v (oldest evicted first)", i, got, want)
		}
	}
	c.add(key(9), now.Add(time.Minute)) // the others have expired
	if c.len() != 1 {
		t.Errorf("len after expiry = %d, want 1", c.len())
	}
}

func TestFailureDelay(t *testing.T) {
	t.Parallel()
	const delay = 50 * time.Millisecond
	env := newTestEnv(t, Options{FailureDelay: delay})
	start := time.Now()
	_, err := env.auth.CheckPassword(context.Background(), ip1, "alice@example.test", "wrong")
	if elapsed := time.Since(start); err != ErrInvalidCredentials || elapsed < delay {
		t.Errorf("failure returned %v after %v, want ErrInvalidCredentials after >= %v", err, elapsed, delay)
	}

	// A long delay ends with the context.
	env = newTestEnv(t, Options{FailureDelay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = env.auth.CheckPassword(ctx, ip1, "alice@example.test", "wrong")
	if elapsed := time.Since(start); err != ErrInvalidCredentials || elapsed > 10*time.Second {
		t.Errorf("failure with cancelled context returned %v after %v", err, elapsed)
	}
}

func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{MaxFailuresPerAccount: -1, MaxFailuresPerIP: -1})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			pw := "secret"
			if i%2 == 1 {
				pw = "wrong"
			}
			ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
			_, err := env.auth.CheckPassword(context.Background(), ip, "alice@example.test", pw)
			if (err == nil) != (pw == "secret") {
				t.Errorf("login %d with %q: %v", i, pw, err)
			}
		})
	}
	wg.Wait()
}
