package auth

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// DefaultRecentLogins bounds a RecentLogins made with max <= 0.
const DefaultRecentLogins = 65536

// RecentLogins remembers, per client IP, the last successful POP3 or IMAP
// login from it: which account and when. It backs POP-before-SMTP (the
// convention of DRAC and the pop-before-smtp daemon, in no RFC): a client
// that has just read its mail may submit without SMTP AUTH. It keeps an
// entry for keep after its login and at most max entries, dropping the
// oldest first. It is safe for concurrent use.
type RecentLogins struct {
	keep time.Duration
	max  int

	mu      sync.Mutex
	entries map[netip.Addr]*list.Element
	order   *list.List // of recentLogin, oldest login first
}

type recentLogin struct {
	ip      netip.Addr
	account string
	at      time.Time
}

// NewRecentLogins returns an empty record keeping logins for keep.
func NewRecentLogins(keep time.Duration, max int) *RecentLogins {
	if max <= 0 {
		max = DefaultRecentLogins
	}
	return &RecentLogins{keep: keep, max: max, entries: map[netip.Addr]*list.Element{}, order: list.New()}
}

// Record notes that account logged in from ip at at; it replaces what ip
// had. An invalid ip (a unix socket) is not recorded, nor anything by a
// nil RecentLogins (POP-before-SMTP off).
func (r *RecentLogins) Record(ip netip.Addr, account string, at time.Time) {
	if r == nil || !ip.IsValid() {
		return
	}
	ip = ip.Unmap()
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.entries[ip]; ok {
		r.remove(el)
	}
	r.prune(at)
	r.entries[ip] = r.order.PushBack(recentLogin{ip: ip, account: account, at: at})
}

// Lookup returns the account that last logged in from ip, if that was
// less than within (and less than keep) before now.
func (r *RecentLogins) Lookup(ip netip.Addr, now time.Time, within time.Duration) (account string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, found := r.entries[ip.Unmap()]
	if !found {
		return "", false
	}
	e := el.Value.(recentLogin)
	age := now.Sub(e.at)
	if age >= r.keep {
		r.remove(el)
		return "", false
	}
	if age >= within {
		return "", false
	}
	return e.account, true
}

// Len returns the number of entries held, expired ones included.
func (r *RecentLogins) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

// prune drops expired entries, then the oldest until there is room for one.
func (r *RecentLogins) prune(now time.Time) {
	for el := r.order.Front(); el != nil; el = r.order.Front() {
		if now.Sub(el.Value.(recentLogin).at) < r.keep && len(r.entries) < r.max {
			return
		}
		r.remove(el)
	}
}

func (r *RecentLogins) remove(el *list.Element) {
	delete(r.entries, el.Value.(recentLogin).ip)
	r.order.Remove(el)
}
