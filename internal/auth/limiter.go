package auth

import (
	"net/netip"
	"sync"
	"time"
)

// limiter throttles failed logins, in the manner of fail2ban's per-IP bans
// and Dovecot's auth penalty, without ever locking an account out:
//
//   - per source network (ipKey): at most maxPerNet failures within the
//     window, whatever the accounts tried;
//   - per (account, source network): at most maxPerPair failures, so a
//     network guessing alice's password is refused for alice while alice
//     from any other network still logs in;
//   - per account, from everywhere: never refused; the count only
//     lengthens the delay before a failure is answered (penalty).
//
// Each attempt is reserved before its password is checked (reserve) and
// settled after: a failure turns the reservation into a counted failure, a
// success forgives the failures of that account from that network only.
// Attempts in flight count against the limits, so a burst of parallel
// guesses gets no more checks than the limit allows. A count lives for one
// window starting at its first failure. The maps are bounded.
type limiter struct {
	now        func() time.Time
	window     time.Duration
	maxPerNet  int // < 0: unlimited
	maxPerPair int // < 0: unlimited, and no per-account penalty
	baseDelay  time.Duration

	mu       sync.Mutex
	nets     counters[netip.Prefix]
	pairs    counters[pairKey]
	accounts counters[string]
}

// pairKey names an account as tried from one source network.
type pairKey struct {
	account string
	net     netip.Prefix
}

// maxPenalty caps the failure delay, as Dovecot's AUTH_PENALTY_MAX_SECS.
const maxPenalty = 15 * time.Second

func newLimiter(o Options, maxEntries int) *limiter {
	return &limiter{
		now:        o.Now,
		window:     o.FailureWindow,
		maxPerNet:  o.MaxFailuresPerIP,
		maxPerPair: o.MaxFailuresPerAccount,
		baseDelay:  o.FailureDelay,
		nets:       newCounters[netip.Prefix](maxEntries),
		pairs:      newCounters[pairKey](maxEntries),
		accounts:   newCounters[string](maxEntries),
	}
}

// ipKey groups addresses by the block one client usually controls: the
// address itself for IPv4 (IPv4-mapped IPv6 included), its /64 for IPv6.
// The invalid zero Addr is its own key.
func ipKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 32
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// blockReason says which limit refused an attempt; "" when none did.
type blockReason string

const (
	blockedNet  blockReason = "source network"
	blockedPair blockReason = "account from this network"
)

// blocked reports which limit, if any, ip or (account, ip) has reached,
// counting attempts in flight.
func (l *limiter) blocked(ip netip.Addr, account string) blockReason {
	now := l.now()
	net := ipKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blockedLocked(net, pairKey{account, net}, now)
}

func (l *limiter) blockedLocked(net netip.Prefix, pair pairKey, now time.Time) blockReason {
	switch {
	case over(l.nets.inUse(net, now), l.maxPerNet):
		return blockedNet
	case over(l.pairs.inUse(pair, now), l.maxPerPair):
		return blockedPair
	}
	return ""
}

func over(n, limit int) bool { return limit >= 0 && n >= limit }

// attempt is one reserved login attempt; exactly one of failed, succeeded
// or cancel ends it.
type attempt struct {
	l       *limiter
	net     netip.Prefix
	account string
	// failing is whether the source network had failures, or another
	// attempt in flight, when this one was reserved: the hash queue
	// serves such sources after the others.
	failing bool
}

// reserve counts one attempt in flight for ip and account, or says which
// limit refuses it.
func (l *limiter) reserve(ip netip.Addr, account string) (*attempt, blockReason) {
	now := l.now()
	net := ipKey(ip)
	pair := pairKey{account, net}
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.blockedLocked(net, pair, now); r != "" {
		return nil, r
	}
	failing := l.nets.inUse(net, now) > 0
	l.nets.reserve(net, now)
	l.pairs.reserve(pair, now)
	return &attempt{l: l, net: net, account: account, failing: failing}, ""
}

// failed counts the attempt as a failure and returns how long to wait
// before answering it: the failure delay, doubled for every maxPerPair
// failures the account has had from anywhere in the window, up to
// maxPenalty. reached names the limit this failure brought into force.
func (t *attempt) failed() (delay time.Duration, reached blockReason) {
	l := t.l
	now := l.now()
	pair := pairKey{t.account, t.net}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nets.settle(t.net, now, l.window, true)
	l.pairs.settle(pair, now, l.window, true)
	l.accounts.inc(t.account, now, l.window)
	switch {
	case l.nets.count(t.net, now) == l.maxPerNet:
		reached = blockedNet
	case l.pairs.count(pair, now) == l.maxPerPair:
		reached = blockedPair
	}
	return l.penalty(l.accounts.count(t.account, now)), reached
}

func (l *limiter) penalty(accountFailures int) time.Duration {
	d := l.baseDelay
	if d <= 0 || l.maxPerPair <= 0 {
		return d
	}
	for n := accountFailures / l.maxPerPair; n > 0 && d < maxPenalty; n-- {
		d *= 2
	}
	return min(d, maxPenalty)
}

// succeeded ends the attempt and forgives the failures of its account
// from its network, and those only: failures from the same network
// against other accounts still count (a success on one's own account
// must not clear guesses at others').
func (t *attempt) succeeded() {
	l := t.l
	now := l.now()
	pair := pairKey{t.account, t.net}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nets.settle(t.net, now, l.window, false)
	l.pairs.settle(pair, now, l.window, false)
	n := l.pairs.count(pair, now)
	l.pairs.forgive(pair, n)
	l.nets.forgive(t.net, n)
	l.accounts.forgive(t.account, n)
}

// cancel ends the attempt without counting it (the store failed, or the
// hash queue refused it).
func (t *attempt) cancel() {
	l := t.l
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nets.settle(t.net, now, l.window, false)
	l.pairs.settle(pairKey{t.account, t.net}, now, l.window, false)
}

// counter is a failure count valid until expires, and the attempts in
// flight, which do not expire.
type counter struct {
	n       int
	pending int
	expires time.Time
}

// counters is a map of counters holding at most max entries. It is not
// safe for concurrent use; limiter.mu guards it.
type counters[K comparable] struct {
	m   map[K]counter
	max int
}

func newCounters[K comparable](max int) counters[K] {
	return counters[K]{m: make(map[K]counter), max: max}
}

// count returns the live failure count for k.
func (c *counters[K]) count(k K, now time.Time) int {
	e, ok := c.m[k]
	if !ok || !now.Before(e.expires) {
		return 0
	}
	return e.n
}

// inUse returns k's live failures plus its attempts in flight.
func (c *counters[K]) inUse(k K, now time.Time) int {
	return c.count(k, now) + c.m[k].pending
}

// reserve adds one attempt in flight to k.
func (c *counters[K]) reserve(k K, now time.Time) {
	e, ok := c.m[k]
	if !ok {
		c.makeRoom(now)
	}
	e.pending++
	c.m[k] = e
}

// settle ends one attempt in flight for k, counting it as a failure if
// failed (starting a new window if k has none live).
func (c *counters[K]) settle(k K, now time.Time, window time.Duration, failed bool) {
	e, ok := c.m[k]
	if !ok {
		c.makeRoom(now) // evicted while in flight
	}
	e.pending = max(e.pending-1, 0)
	if !now.Before(e.expires) {
		e.n = 0
	}
	if failed {
		if e.n == 0 {
			e.expires = now.Add(window)
		}
		e.n++
	}
	if e.n == 0 && e.pending == 0 {
		delete(c.m, k)
		return
	}
	c.m[k] = e
}

// forgive removes n failures from k.
func (c *counters[K]) forgive(k K, n int) {
	e, ok := c.m[k]
	if !ok || n <= 0 {
		return
	}
	e.n = max(e.n-n, 0)
	if e.n == 0 && e.pending == 0 {
		delete(c.m, k)
		return
	}
	c.m[k] = e
}

// inc adds one failure to k, starting a new window if k has none live.
func (c *counters[K]) inc(k K, now time.Time, window time.Duration) {
	c.reserve(k, now)
	c.settle(k, now, window, true)
}

// makeRoom prunes expired entries when the map is full and, if that is not
// enough, drops one arbitrary entry with nothing in flight (map iteration
// order is randomized, so a client flooding the map cannot easily pick
// which counter it evicts).
func (c *counters[K]) makeRoom(now time.Time) {
	if len(c.m) < c.max {
		return
	}
	for k, e := range c.m {
		if !now.Before(e.expires) && e.pending == 0 {
			delete(c.m, k)
		}
	}
	for k, e := range c.m {
		if len(c.m) < c.max {
			break
		}
		if e.pending == 0 {
			delete(c.m, k)
		}
	}
}
