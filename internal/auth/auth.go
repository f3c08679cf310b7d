// Package auth authenticates mail users.
//
// Passwords are stored as argon2id hashes in PHC string form (RFC 9106 for
// the algorithm) and, optionally, as SCRAM-SHA-256 stored credentials
// (RFC 5802, RFC 7677) serialized as in RFC 5803. Accounts themselves live
// elsewhere and are reached through a Lookup.
//
// An Authenticator checks passwords directly (CheckPassword) or through the
// SASL (RFC 4422) mechanisms PLAIN (RFC 4616), LOGIN
// (draft-murchison-sasl-login) and SCRAM-SHA-256 (RFC 5802, RFC 7677),
// without channel binding. It owns two pieces of in-memory state, both bounded:
//
//   - failure counters per client network (IPv4 address, IPv6 /64), per
//     (account, network) and per account (see limiter): the first two
//     refuse further attempts for a while once at their limit, counting
//     attempts in flight; the last only lengthens the failure delay, so
//     nobody can lock an account out;
//   - a cache of recently verified credentials, so that a client logging in
//     many times does not pay an argon2id verification each time. Only an
//     HMAC-SHA-256 digest of (address, password, stored hash) is kept, never
//     the password.
//
// Password hashing runs in a bounded number of slots handed out by a fair
// queue (hashQueue) that serves failing sources last, and concurrent
// checks of the same credentials share one hash (flights).
//
// RecentLogins, a separate and also bounded record, remembers the last
// successful POP3 or IMAP login per client IP for POP-before-SMTP; the
// servers share one, made by the caller.
//
// Failures never say whether the account exists: an unknown address costs the
// same argon2id verification as a wrong password, and SCRAM answers an unknown
// user with a fake but stable salt.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// Errors returned by this package.
var (
	// ErrNotFound is returned by a Lookup for an unknown address.
	ErrNotFound = errors.New("auth: no such account")
	// ErrInvalidCredentials is returned for a wrong password, an unknown
	// address or a disabled account alike: it never says whether the user
	// exists.
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrTooManyFailures is a temporary refusal: the client network, or
	// this account from the client network, has failed too often
	// recently, or too many logins are waiting for a password check.
	ErrTooManyFailures = errors.New("auth: too many failed logins, try later")
	// ErrAuthzNotAllowed is returned when a SASL client asks to act as
	// another user than the one it authenticates as (RFC 4616 §2,
	// RFC 5802 §5.1 "a"); we do not support proxy authorization.
	ErrAuthzNotAllowed = errors.New("auth: authorization identity must be empty or equal the username")
	// ErrUnsupportedMechanism is returned by SASL for a mechanism not in
	// Mechanisms().
	ErrUnsupportedMechanism = errors.New("auth: unsupported SASL mechanism")
)

// Account is what a Lookup returns for an address.
type Account struct {
	ID           int64
	Address      string // canonical address, e.g. alice@example.test
	PasswordHash string // PHC argon2id, see HashPassword
	SCRAM        string // see NewSCRAMCredentials; "" disables SCRAM-SHA-256 for this account
	Disabled     bool
}

// Lookup finds accounts. LookupAccount receives an address already
// lowercased and returns ErrNotFound (possibly wrapped) when there is no such
// account; any other error is treated as a temporary failure of the store.
type Lookup interface {
	LookupAccount(ctx context.Context, address string) (Account, error)
}

// Options configures an Authenticator. The zero value of each field selects
// its default; the fields documented so accept a negative value to turn the
// feature off.
type Options struct {
	CacheTTL              time.Duration // default 5m; negative disables the verification cache
	FailureDelay          time.Duration // default 1s, added to each failure; negative disables
	MaxFailuresPerIP      int           // per client network (IPv6 /64); default 10 within FailureWindow; negative means unlimited
	MaxFailuresPerAccount int           // per (account, client network); default 5 within FailureWindow; negative means unlimited
	// Every MaxFailuresPerAccount failures of an account from all
	// networks together double FailureDelay for its failures, up to 15 s.
	FailureWindow time.Duration // default 15m
	Now           func() time.Time

	// HashParams are the argon2id parameters of the dummy hash verified for
	// unknown users; they should match those used for real accounts so the
	// two take the same time. Default DefaultParams.
	HashParams Params
	// MaxConcurrentHashes bounds concurrent argon2id verifications, each of
	// which needs HashParams.Memory KiB. Default GOMAXPROCS divided by
	// HashParams.Threads (at least 1).
	MaxConcurrentHashes int
	// FakeSCRAMKey keys the SCRAM salts and keys made up for unknown
	// users (fakeSCRAM). Keep it across restarts (serve reads it from
	// data_dir/scram.key): a salt that changes when the server restarts
	// while a real user's stays tells the two apart. Default: a random
	// key per Authenticator.
	FakeSCRAMKey []byte
	// MaxQueuedLogins bounds the logins waiting for a hashing slot; see
	// hashQueue. Default 256.
	MaxQueuedLogins int
	// Log receives a line when a limit starts refusing a client. Default:
	// discard.
	Log *slog.Logger
}

const (
	defaultCacheTTL      = 5 * time.Minute
	defaultFailureDelay  = time.Second
	defaultMaxPerIP      = 10
	defaultMaxPerAccount = 5
	defaultFailureWindow = 15 * time.Minute
	defaultQueuedLogins  = 256

	cacheEntries   = 10000 // verification cache bound
	counterEntries = 65536 // bound of each failure-counter map
)

func (o Options) withDefaults() Options {
	if o.CacheTTL == 0 {
		o.CacheTTL = defaultCacheTTL
	}
	if o.FailureDelay == 0 {
		o.FailureDelay = defaultFailureDelay
	}
	if o.MaxFailuresPerIP == 0 {
		o.MaxFailuresPerIP = defaultMaxPerIP
	}
	if o.MaxFailuresPerAccount == 0 {
		o.MaxFailuresPerAccount = defaultMaxPerAccount
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = defaultFailureWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HashParams == (Params{}) {
		o.HashParams = DefaultParams
	}
	if o.MaxConcurrentHashes <= 0 {
		// Each verification already runs HashParams.Threads lanes in
		// parallel: more at once than fill the cores add memory (each
		// needs HashParams.Memory) and latency, not throughput.
		o.MaxConcurrentHashes = max(1, runtime.GOMAXPROCS(0)/int(o.HashParams.Threads))
	}
	if o.MaxQueuedLogins <= 0 {
		o.MaxQueuedLogins = defaultQueuedLogins
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Authenticator checks credentials against a Lookup. It is safe for
// concurrent use.
type Authenticator struct {
	lookup  Lookup
	opts    Options
	limiter *limiter
	cache   *verifyCache
	hashes  *hashQueue // slots for argon2id runs
	flights flights    // verifications under way
	secret  [32]byte   // keys cache digests and fake SCRAM credentials
	dummy   string     // PHC hash verified for unknown or disabled accounts

	verifications atomic.Int64 // argon2id verifications run, for tests and metrics
}

// New returns an Authenticator reading accounts from lookup.
func New(lookup Lookup, opts Options) *Authenticator {
	opts = opts.withDefaults()
	a := &Authenticator{
		lookup:  lookup,
		opts:    opts,
		limiter: newLimiter(opts, counterEntries),
		cache:   newVerifyCache(opts.CacheTTL, cacheEntries),
		hashes:  newHashQueue(opts.MaxConcurrentHashes, opts.MaxQueuedLogins),
	}
	rand.Read(a.secret[:])
	a.dummy = dummyHash(opts.HashParams)
	return a
}

// Mechanisms returns the names of the SASL mechanisms that SASL accepts.
func Mechanisms() []string {
	return []string{"PLAIN", "LOGIN", "SCRAM-SHA-256"}
}

// CheckPassword verifies address and password for a client at remote.
//
// The address is lowercased before the lookup. ErrTooManyFailures is returned
// without checking the password while remote's network, or the account from
// that network, is at its failure limit (attempts in flight included), after
// Options.FailureDelay, or when too many logins wait for a hashing slot. A wrong password, an unknown
// address and a disabled account all return ErrInvalidCredentials after the
// same argon2id work and after Options.FailureDelay, longer for an account
// failing from many networks (cut short if ctx ends). Other errors come from
// the Lookup or from a malformed stored hash and do not count as failures.
func (a *Authenticator) CheckPassword(ctx context.Context, remote netip.Addr, address, password string) (Account, error) {
	address = strings.ToLower(address)
	acct, err := a.checkLimited(ctx, remote, address, password)
	a.logLogin(ctx, remote, address, err) // loginlog.go
	return acct, err
}

// checkLimited is CheckPassword under the limiter.
func (a *Authenticator) checkLimited(ctx context.Context, remote netip.Addr, address, password string) (Account, error) {
	t, reason := a.limiter.reserve(remote, address)
	if reason != "" {
		// A refusal waits like a failure (Dovecot's auth penalty), so a
		// flood of refused guesses costs the server little.
		sleep(ctx, a.opts.FailureDelay)
		return Account{}, ErrTooManyFailures
	}
	acct, ok, err := a.checkPassword(ctx, t, address, password)
	switch {
	case errors.Is(err, errQueueFull):
		t.cancel()
		a.opts.Log.Debug("auth queue full, login refused", "ip", remote, "account", address)
		sleep(ctx, a.opts.FailureDelay)
		return Account{}, ErrTooManyFailures
	case err != nil:
		t.cancel()
		return Account{}, err
	case !ok:
		return Account{}, a.fail(ctx, t, remote)
	}
	t.succeeded()
	return acct, nil
}

// checkPassword does the lookup and the verification for attempt t; ok
// reports whether the password is right for an enabled account.
func (a *Authenticator) checkPassword(ctx context.Context, t *attempt, address, password string) (acct Account, ok bool, err error) {
	acct, err = a.lookup.LookupAccount(ctx, address)
	switch {
	case errors.Is(err, ErrNotFound):
		return Account{}, false, a.spendDummy(ctx, t, address, password)
	case err != nil:
		return Account{}, false, fmt.Errorf("auth: looking up %q: %w", address, err)
	case acct.Disabled:
		return Account{}, false, a.spendDummy(ctx, t, address, password)
	}
	key := a.digest("verified", address, password, acct.PasswordHash)
	now := a.opts.Now()
	if a.cache.hit(key, now) {
		return acct, true, nil
	}
	ok, err = a.verify(ctx, t, address, acct.PasswordHash, password)
	if errors.Is(err, errQueueFull) || isContextErr(err) {
		return Account{}, false, err
	}
	if err != nil {
		return Account{}, false, fmt.Errorf("auth: account %d: %w", acct.ID, err)
	}
	if ok {
		a.cache.add(key, now)
	}
	return acct, ok, nil
}

// spendDummy verifies password against the dummy hash so that an unknown or
// disabled account costs as much as a wrong password. Its result is ignored.
func (a *Authenticator) spendDummy(ctx context.Context, t *attempt, address, password string) error {
	_, err := a.verify(ctx, t, address, a.dummy, password)
	return err
}

// verify runs one argon2id verification for attempt t in a slot of the
// hash queue, or shares the result of the same verification under way.
// The address is part of what must be the same: unknown addresses share
// the dummy hash, and sharing across addresses would let concurrent
// guesses tell known accounts from unknown ones by their timing.
func (a *Authenticator) verify(ctx context.Context, t *attempt, address, phc, password string) (bool, error) {
	return a.flights.do(ctx, a.digest("verify", address, phc, password), func() (bool, error) {
		if err := a.hashes.acquire(ctx, t.net, t.failing); err != nil {
			return false, err
		}
		defer a.hashes.release()
		a.verifications.Add(1)
		return VerifyPassword(phc, password)
	})
}

// fail counts attempt t as a failure, logs when that brings a limit into
// force, waits the failure delay and returns ErrInvalidCredentials.
func (a *Authenticator) fail(ctx context.Context, t *attempt, remote netip.Addr) error {
	delay, reached := t.failed()
	if reached != "" {
		a.opts.Log.Warn("auth throttled: failure limit reached", "limit", reached, "ip", remote,
			"network", t.net, "account", t.account, "window", a.opts.FailureWindow)
	}
	sleep(ctx, delay)
	return ErrInvalidCredentials
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// digest returns HMAC-SHA-256 under the Authenticator's secret of label and
// parts, each length-prefixed so that no two inputs collide.
func (a *Authenticator) digest(label string, parts ...string) [32]byte {
	return keyedDigest(a.secret[:], label, parts...)
}

// keyedDigest is HMAC-SHA-256 under key of label and parts, each
// length-prefixed.
func keyedDigest(key []byte, label string, parts ...string) [32]byte {
	m := hmac.New(sha256.New, key)
	var n [8]byte
	for _, p := range append([]string{label}, parts...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	var sum [32]byte
	m.Sum(sum[:0])
	return sum
}
