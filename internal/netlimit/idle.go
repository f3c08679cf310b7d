package netlimit

import (
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// Silent clients must not hold the connection slots. As Dovecot's login
// processes and Postfix's stress mode (${stress?10}${stress:300}s) do,
// a connection that has not authenticated gets a shorter read deadline:
// at most Options.LoginTimeout always, and at most Options.StressTimeout
// while the listener holds at least three quarters of Options.Max. When
// the listener becomes that busy, the waits of the connections already
// there are shortened too (hurry), at most once a second. A session
// marks its connection Authenticated after a successful login; from
// then on its deadlines are its own.

// The defaults of LoginTimeout and StressTimeout for the servers.
const (
	DefaultLoginTimeout  = 3 * time.Minute  // Dovecot's login processes
	DefaultStressTimeout = 10 * time.Second // Postfix's ${stress?10}
)

// ImplicitTLS returns cfg for a listener of implicit TLS, nil otherwise:
// Options.TLS.
func ImplicitTLS(implicit bool, cfg *tls.Config) *tls.Config {
	if implicit {
		return cfg
	}
	return nil
}

// idleState is the listener's side, guarded by limitListener.mu.
type idleState struct {
	lastHurry time.Time
}

// idleConn is a connection's side.
type idleConn struct {
	mu       sync.Mutex
	authed   bool
	deadline time.Time // the read deadline in force
}

// addTotal changes the count of connections (under l.mu) and whether the
// listener is under stress (read without the lock by capDeadline).
func (l *limitListener) addTotal(n int) {
	l.total += n
	l.busy.Store(l.stressed())
}

// stressed: at least three quarters of the slots are taken (under l.mu).
func (l *limitListener) stressed() bool { return l.max > 0 && l.total*4 >= l.max*3 }

// capDeadline bounds the read deadline t (zero: none) of a connection
// that has not authenticated.
func (l *limitListener) capDeadline(t time.Time) time.Time {
	now := time.Now()
	limit := func(d time.Duration) {
		if d > 0 && (t.IsZero() || t.After(now.Add(d))) {
			t = now.Add(d)
		}
	}
	limit(l.opts.LoginTimeout)
	if l.busy.Load() {
		limit(l.opts.StressTimeout)
	}
	return t
}

// hurry shortens the waits of the connections that have not
// authenticated to StressTimeout (under l.mu, called when stressed).
func (l *limitListener) hurry() {
	now := time.Now()
	if l.opts.StressTimeout <= 0 || now.Sub(l.idle.lastHurry) < time.Second {
		return
	}
	l.idle.lastHurry = now
	limit := now.Add(l.opts.StressTimeout)
	for _, p := range l.byIP {
		for c := range p.counted {
			c.hurry(limit)
		}
	}
}

func (c *limitConn) hurry(limit time.Time) {
	c.idle.mu.Lock()
	defer c.idle.mu.Unlock()
	if !c.idle.authed && (c.idle.deadline.IsZero() || c.idle.deadline.After(limit)) {
		c.idle.deadline = limit
		c.Conn.SetReadDeadline(limit)
	}
}

// SetReadDeadline sets the read deadline, bounded while the connection
// has not authenticated.
func (c *limitConn) SetReadDeadline(t time.Time) error {
	c.idle.mu.Lock()
	defer c.idle.mu.Unlock()
	if !c.idle.authed {
		t = c.l.capDeadline(t)
	}
	c.idle.deadline = t
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline is SetWriteDeadline and SetReadDeadline.
func (c *limitConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// Authenticated marks c (a connection from a listener of this package,
// possibly under TLS or another wrapper with a NetConn method) as
// authenticated: its read deadlines are no longer bounded.
func Authenticated(c net.Conn) { Exempt(c, true) }

// Exempt turns the bounds on c's read deadlines off or back on; the
// deadline in force is kept until the next one is set. SMTP exempts a
// message transfer, whose whole DATA runs under one deadline.
func Exempt(c net.Conn, exempt bool) {
	for c != nil {
		switch v := c.(type) {
		case *limitConn:
			v.idle.mu.Lock()
			v.idle.authed = exempt
			v.idle.mu.Unlock()
			return
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return
		}
	}
}
