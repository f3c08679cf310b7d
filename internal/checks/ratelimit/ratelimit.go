// Package ratelimit limits how much mail one client address, or one
// authenticated user, may send per hour: messages counted at MAIL
// (450 4.7.1 past the limit) and recipients at RCPT (451 4.7.1), as
// Postfix's anvil does. A sliding hour is approximated by two fixed
// windows, the previous one weighted by how much of it the hour still
// covers.
package ratelimit

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
)

// window is the period the limits are per.
const window = time.Hour

// maxKeys bounds the counters kept; past it, those of ended windows go.
const maxKeys = 100000

// Check counts per client address (unauthenticated sessions) or per user
// (authenticated ones). A zero limit is no limit.
type Check struct {
	MessagesPerIP, RecipientsPerIP     int
	MessagesPerUser, RecipientsPerUser int
	Skip                               []netip.Prefix // trusted networks (by address only)
	Now                                func() time.Time

	mu sync.Mutex
	m  map[string]*counter
}

type counter struct {
	start     time.Time // of the current window
	cur, prev int
}

var (
	_ delivery.MailCheck = (*Check)(nil)
	_ delivery.RcptCheck = (*Check)(nil)
)

// Name implements delivery.Check.
func (c *Check) Name() string { return "ratelimit" }

// Mail implements delivery.MailCheck.
func (c *Check) Mail(ctx context.Context, tx *delivery.Transaction) (delivery.Verdict, error) {
	key, limit := c.key(tx.Conn, "m", c.MessagesPerIP, c.MessagesPerUser)
	if key != "" && !c.take(key, limit, 1) {
		return delivery.Verdict{Reply: mail.Errorf(450, [3]int{4, 7, 1},
			"Too many messages from you in the last hour, try again later")}, nil
	}
	return delivery.Verdict{}, nil
}

// Rcpt implements delivery.RcptCheck.
func (c *Check) Rcpt(ctx context.Context, tx *delivery.Transaction, r *delivery.Recipient) (delivery.Verdict, error) {
	key, limit := c.key(tx.Conn, "r", c.RecipientsPerIP, c.RecipientsPerUser)
	if key != "" && !c.take(key, limit, 1) {
		return delivery.Verdict{Reply: mail.Errorf(451, [3]int{4, 7, 1},
			"Too many recipients from you in the last hour, try again later")}, nil
	}
	return delivery.Verdict{}, nil
}

// key is the counter and limit for conn ("" when unlimited).
func (c *Check) key(conn *delivery.Conn, kind string, perIP, perUser int) (string, int) {
	if conn.AuthUser != "" {
		if perUser <= 0 {
			return "", 0
		}
		return kind + "u" + strings.ToLower(conn.AuthUser), perUser
	}
	ip := conn.IP.Unmap()
	if perIP <= 0 || !ip.IsValid() || c.skipped(ip) {
		return "", 0
	}
	return kind + "i" + ip.String(), perIP
}

func (c *Check) skipped(ip netip.Addr) bool {
	for _, p := range c.Skip {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// take counts n against key when the sliding hour leaves room for them.
func (c *Check) take(key string, limit, n int) bool {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*counter{}
	}
	k := c.m[key]
	if k == nil {
		c.prune(now)
		k = &counter{start: now.Truncate(window)}
		c.m[key] = k
	}
	k.roll(now)
	weight := 1 - float64(now.Sub(k.start))/float64(window)
	if float64(k.cur+n)+float64(k.prev)*weight > float64(limit) {
		return false
	}
	k.cur += n
	return true
}

// roll moves the counter's windows up to now.
func (k *counter) roll(now time.Time) {
	start := now.Truncate(window)
	switch {
	case start.Equal(k.start):
	case start.Sub(k.start) == window:
		k.prev, k.cur, k.start = k.cur, 0, start
	default:
		k.prev, k.cur, k.start = 0, 0, start
	}
}

// prune drops counters of ended windows when the table is full.
func (c *Check) prune(now time.Time) {
	if len(c.m) < maxKeys {
		return
	}
	for key, k := range c.m {
		if now.Sub(k.start) >= 2*window {
			delete(c.m, key)
		}
	}
	if len(c.m) >= maxKeys {
		clear(c.m)
	}
}
