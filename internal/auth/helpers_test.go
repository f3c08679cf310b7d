package auth

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"facteur.dev/facteur/internal/testutil"
)

// testParams make argon2id cheap enough for tests.
var testParams = Params{Memory: 1024, Time: 1, Threads: 1}

var (
	ip1 = netip.MustParseAddr("192.0.2.1")
	ip2 = netip.MustParseAddr("198.51.100.2")
)

// fakeLookup is an in-memory Lookup that counts calls.
type fakeLookup struct {
	mu       sync.Mutex
	accounts map[string]Account
	calls    atomic.Int64
}

func (f *fakeLookup) LookupAccount(_ context.Context, address string) (Account, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[address]
	if !ok {
		return Account{}, ErrNotFound
	}
	return a, nil
}

func (f *fakeLookup) set(a Account) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[a.Address] = a
}

// newAccount returns an account for address with password hashed both ways.
func newAccount(t testing.TB, id int64, address, password string) Account {
	t.Helper()
	phc, err := HashPassword(password, testParams)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := NewSCRAMCredentials(password)
	if err != nil {
		t.Fatal(err)
	}
	return Account{ID: id, Address: address, PasswordHash: phc, SCRAM: sc}
}

// testEnv is an Authenticator over a fakeLookup holding alice (disabled:
// dave, no SCRAM: erin), all with password "secret" unless said otherwise.
type testEnv struct {
	auth   *Authenticator
	lookup *fakeLookup
	clock  *testutil.Clock
}

func newTestEnv(t testing.TB, opts Options) *testEnv {
	t.Helper()
	lk := &fakeLookup{accounts: map[string]Account{}}
	lk.set(newAccount(t, 1, "alice@example.test", "secret"))
	lk.set(newAccount(t, 2, "bob@example.test", "hunter2"))
	dave := newAccount(t, 3, "dave@example.test", "secret")
	dave.Disabled = true
	lk.set(dave)
	erin := newAccount(t, 4, "erin@example.test", "secret")
	erin.SCRAM = ""
	lk.set(erin)

	clock := testutil.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.FailureDelay == 0 {
		opts.FailureDelay = -1
	}
	opts.HashParams = testParams
	return &testEnv{auth: New(lk, opts), lookup: lk, clock: clock}
}

// exchange drives a SASL server with a SASL client until the server is done
// and returns the server's error, or the client's.
func exchange(srv sasl.Server, c sasl.Client) error {
	_, resp, err := c.Start()
	if err != nil {
		return err
	}
	for range 10 {
		challenge, done, err := srv.Next(resp)
		if err != nil || done {
			return err
		}
		if resp, err = c.Next(challenge); err != nil {
			return err
		}
	}
	return errTooManySteps
}

var errTooManySteps = errors.New("exchange did not finish")
