// Package greylist is greylisting (RFC 6647): the first message of an
// unknown (client network, sender, recipient) triplet is answered 451 and
// accepted when the client retries after Delay, as real MTAs do and most
// spam software does not. It runs at the end of DATA, so that mail
// authenticated by an aligned domain (dmarc=pass) or from an allow-listed
// client (dnswl=pass) is never delayed. Clients whose retries passed
// AutoAllow times are not greylisted again (RFC 6647 §5 recommends
// remembering good clients).
//
// The state is kept in memory, bounded: a restart forgets it, which only
// means a sender may be asked to retry once more.
package greylist

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
)

// Defaults, as postgrey's.
const (
	DefaultDelay     = 5 * time.Minute     // before a retry is accepted
	DefaultRetryMax  = 2 * 24 * time.Hour  // a retry later than this starts over
	DefaultKeep      = 35 * 24 * time.Hour // a passed triplet is remembered this long
	DefaultAutoAllow = 5                   // passed triplets after which a client is never greylisted
	maxEntries       = 200000              // about 40 MB at most
)

// Check greylists unauthenticated mail. The zero value uses the
// defaults; Now may be replaced in tests.
type Check struct {
	Delay, RetryMax, Keep time.Duration
	AutoAllow             int
	Skip                  []netip.Prefix // trusted networks
	Now                   func() time.Time

	mu       sync.Mutex
	triplets map[string]entry     // network/sender/recipient
	clients  map[netip.Prefix]int // network → triplets that passed
}

type entry struct {
	first  time.Time // first attempt
	passed time.Time // zero until a retry was accepted
}

var _ delivery.DataCheck = (*Check)(nil)

// Name implements delivery.Check.
func (c *Check) Name() string { return "greylist" }

// Data implements delivery.DataCheck.
func (c *Check) Data(ctx context.Context, tx *delivery.Transaction, msg *delivery.Message) (delivery.Verdict, error) {
	ip := tx.Conn.IP.Unmap()
	if !ip.IsValid() || tx.Conn.AuthUser != "" || c.skipped(ip) || authenticated(tx.Results) {
		return delivery.Verdict{}, nil
	}
	network := Network(ip)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if c.clients[network] >= c.autoAllow() {
		return delivery.Verdict{}, nil
	}
	wait := time.Duration(0)
	for _, r := range tx.Rcpts {
		wait = max(wait, c.attempt(network, tx.From, r.Address, now))
	}
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		// RFC 6647 §2.1: a temporary failure; X.7.1 as postgrey and
		// Postfix answer.
		return delivery.Verdict{Reply: mail.Errorf(451, [3]int{4, 7, 1},
			"Greylisted, please try again in %d seconds", secs)}, nil
	}
	return delivery.Verdict{}, nil
}

// attempt records a delivery attempt of one triplet and returns how long
// the client must still wait (0: accept).
func (c *Check) attempt(network netip.Prefix, from, rcpt string, now time.Time) time.Duration {
	key := network.String() + "/" + strings.ToLower(from) + "/" + strings.ToLower(rcpt)
	e, ok := c.triplets[key]
	switch {
	case ok && !e.passed.IsZero() && now.Sub(e.passed) < c.keep():
		e.passed = now // still in use: remembered longer
	case ok && e.passed.IsZero() && now.Sub(e.first) >= c.delay() && now.Sub(e.first) <= c.retryMax():
		e.passed = now
		c.clients[network]++
	default:
		if !ok || now.Sub(e.first) > c.retryMax() || !e.passed.IsZero() {
			c.makeRoom(now)
			e = entry{first: now}
		}
		c.triplets[key] = e
		return c.delay() - now.Sub(e.first)
	}
	c.triplets[key] = e
	return 0
}

// makeRoom drops expired triplets when the table is full, and all of them
// if none had expired.
func (c *Check) makeRoom(now time.Time) {
	if len(c.triplets) < maxEntries {
		return
	}
	for k, e := range c.triplets {
		if (e.passed.IsZero() && now.Sub(e.first) > c.retryMax()) || (!e.passed.IsZero() && now.Sub(e.passed) > c.keep()) {
			delete(c.triplets, k)
		}
	}
	if len(c.triplets) >= maxEntries {
		clear(c.triplets)
	}
}

// authenticated: DMARC passed (so SPF or DKIM passed for a domain aligned
// with From), or the client is on an allow list.
func authenticated(results []authres.Result) bool {
	for _, r := range results {
		switch r := r.(type) {
		case *authres.DMARCResult:
			if r.Value == authres.ResultPass {
				return true
			}
		case *authres.GenericResult:
			if r.Method == "dnswl" && r.Value == authres.ResultPass {
				return true
			}
		}
	}
	return false
}

// Network is the client's network for greylisting: its /24 (IPv4) or /64
// (IPv6), since big senders retry from another address of the same pool.
func Network(ip netip.Addr) netip.Prefix {
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	return p
}

func (c *Check) skipped(ip netip.Addr) bool {
	for _, p := range c.Skip {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (c *Check) init() {
	if c.triplets == nil {
		c.triplets, c.clients = map[string]entry{}, map[netip.Prefix]int{}
	}
}

func (c *Check) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (c *Check) delay() time.Duration    { return orDefault(c.Delay, DefaultDelay) }
func (c *Check) retryMax() time.Duration { return orDefault(c.RetryMax, DefaultRetryMax) }
func (c *Check) keep() time.Duration     { return orDefault(c.Keep, DefaultKeep) }
func (c *Check) autoAllow() int {
	if c.AutoAllow > 0 {
		return c.AutoAllow
	}
	return DefaultAutoAllow
}

// String describes the settings, for the start banner.
func (c *Check) String() string {
	return fmt.Sprintf("greylist(delay %s)", c.delay())
}
