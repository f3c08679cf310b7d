package auth

import (
	"net/netip"
	"sync"
	"time"
)

// limiter counts failed logins per client network and per account. A count
// lives for one window starting at its first failure; while it is at or over
// its limit, attempts are refused. Both maps are bounded. Attempts checked
// concurrently may overshoot a limit by the number in flight.
type limiter struct {
	now           func() time.Time
	window        time.Duration
	maxPerIP      int // < 0: unlimited
	maxPerAccount int // < 0: unlimited

	mu       sync.Mutex
	ips      counters[netip.Prefix]
	accounts counters[string]
}

func newLimiter(o Options, maxEntries int) *limiter {
	return &limiter{
		now:           o.Now,
		window:        o.FailureWindow,
		maxPerIP:      o.MaxFailuresPerIP,
		maxPerAccount: o.MaxFailuresPerAccount,
		ips:           newCounters[netip.Prefix](maxEntries),
		accounts:      newCounters[string](maxEntries),
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

// blocked reports whether ip or account is at or over its limit.
func (l *limiter) blocked(ip netip.Addr, account string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return over(l.ips.count(ipKey(ip), now), l.maxPerIP) ||
		over(l.accounts.count(account, now), l.maxPerAccount)
}

func over(n, limit int) bool { return limit >= 0 && n >= limit }

// fail records one failure for ip and for account.
func (l *limiter) fail(ip netip.Addr, account string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ips.inc(ipKey(ip), now, l.window)
	l.accounts.inc(account, now, l.window)
}

// succeed forgets the failures of ip and account.
func (l *limiter) succeed(ip netip.Addr, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.ips.m, ipKey(ip))
	delete(l.accounts.m, account)
}

// counter is a failure count valid until expires.
type counter struct {
	n       int
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

// count returns the live count for k.
func (c *counters[K]) count(k K, now time.Time) int {
	e, ok := c.m[k]
	if !ok || !now.Before(e.expires) {
		return 0
	}
	return e.n
}

// inc adds one failure to k, starting a new window if k has none live.
func (c *counters[K]) inc(k K, now time.Time, window time.Duration) {
	e, ok := c.m[k]
	if !ok || !now.Before(e.expires) {
		if !ok {
			c.makeRoom(now)
		}
		e = counter{expires: now.Add(window)}
	}
	e.n++
	c.m[k] = e
}

// makeRoom prunes expired entries when the map is full and, if that is not
// enough, drops one arbitrary entry (map iteration order is randomized, so a
// client flooding the map cannot easily pick which counter it evicts).
func (c *counters[K]) makeRoom(now time.Time) {
	if len(c.m) < c.max {
		return
	}
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < c.max {
			break
		}
		delete(c.m, k)
	}
}
