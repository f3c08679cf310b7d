// Package netlimit bounds the connections a listener accepts, in total and
// per client IP, for every protocol front-end.
//
// A connection counts from Accept until the server closes it or, when
// its peer's address is at a limit, until the peer is seen to have closed
// it. The second rule matters because every protocol here sends its last
// reply before the server closes (SMTP's 221 to QUIT, RFC 5321 §4.1.1.10;
// POP3's +OK to QUIT, RFC 1939 §6; IMAP's BYE and OK to LOGOUT, RFC 9051
// §6.1.3): a client that reads that reply, closes and connects again at
// once, as Postfix's smtp-source does, would otherwise find its finished
// session still counted and be refused. A connection so uncounted is
// "closing" until the server closes it; at most as many as the limits
// allow are closing at once (per IP and in total), so a peer that
// half-closes and stops reading cannot hold more than twice its share.
package netlimit

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// limitListener refuses connections beyond a total and a per-IP limit.
type limitListener struct {
	net.Listener
	max, perIP int
	refusal    string
	log        *slog.Logger
	opts       Options
	refusing   chan struct{} // bounds the refusals under way (refuseTLS)
	idle       idleState     // deadlines of connections not authenticated (idle.go)
	busy       atomic.Bool   // stressed(), for reads without mu

	mu      sync.Mutex
	total   int // counted connections
	closing int // connections uncounted because their peer closed
	byIP    map[netip.Addr]*peer
}

// peer is one client address's connections.
type peer struct {
	counted map[*limitConn]bool
	closing int
}

// Listen wraps l: beyond max connections in total or perIP from one address,
// a new connection gets refusal (a protocol greeting such as
// "421 4.7.0 …\r\n") and is closed without a session.
func Listen(l net.Listener, max, perIP int, refusal string, log *slog.Logger) net.Listener {
	return New(l, Options{Max: max, PerIP: perIP, Refusal: refusal, Log: log})
}

// Options configure New.
type Options struct {
	Max, PerIP int
	Refusal    string // the protocol greeting that refuses, "421 4.7.0 …\r\n"
	Log        *slog.Logger
	// TLS, for a listener of implicit TLS (465, 993, 995), is the
	// server's configuration: the refusal is sent after a handshake, so a
	// client sees it rather than a TLS error (WRONG_VERSION_NUMBER).
	TLS *tls.Config
	// LoginTimeout, when positive, bounds every read deadline of a
	// connection not yet marked Authenticated; StressTimeout does the
	// same while the listener holds at least three quarters of Max
	// (idle.go).
	LoginTimeout, StressTimeout time.Duration
}

// New wraps l as Listen does, with every option.
func New(l net.Listener, o Options) net.Listener {
	return &limitListener{Listener: l, max: o.Max, perIP: o.PerIP, refusal: o.Refusal, log: o.Log, opts: o,
		refusing: make(chan struct{}, maxRefusing), byIP: map[netip.Addr]*peer{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := &limitConn{Conn: c, l: l, ip: RemoteIP(c.RemoteAddr())}
		if l.acquire(lc) {
			return lc, nil
		}
		l.log.Warn("connection refused: limit reached", "ip", lc.ip)
		l.refuse(c)
	}
}

// maxRefusing bounds the refusals under way: beyond, a connection over
// the limits is closed without a word, so a flood costs no more than
// that many goroutines and TLS handshakes.
const maxRefusing = 64

// refuse sends the refusal, inside TLS on a listener of implicit TLS,
// and closes c, in a goroutine of its own.
func (l *limitListener) refuse(c net.Conn) {
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		w := c
		if l.opts.TLS != nil {
			tc := tls.Server(c, l.opts.TLS)
			if tc.Handshake() != nil {
				return
			}
			w = tc
		}
		io.WriteString(w, l.refusal)
		if tc, ok := w.(*tls.Conn); ok {
			tc.CloseWrite() // close_notify, so the client reads the refusal as sent
		}
	}()
}

// acquire counts c, unless a limit is reached even without the
// connections from c's address that their peer has closed.
func (l *limitListener) acquire(c *limitConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.byIP[c.ip]
	if p == nil {
		p = &peer{counted: map[*limitConn]bool{}}
		l.byIP[c.ip] = p
	}
	if l.full(c.ip, p) {
		l.reap(p)
	}
	if l.full(c.ip, p) {
		l.forget(c.ip, p)
		return false
	}
	p.counted[c] = true
	l.addTotal(1)
	if l.stressed() {
		l.hurry()
	}
	return true
}

func (l *limitListener) full(ip netip.Addr, p *peer) bool {
	return l.total >= l.max || (ip.IsValid() && len(p.counted) >= l.perIP)
}

// reap stops counting p's connections whose peer has closed, within the
// bounds on closing connections.
func (l *limitListener) reap(p *peer) {
	for c := range p.counted {
		if p.closing >= l.perIP || l.closing >= l.max {
			return
		}
		if peerClosed(c.Conn) {
			delete(p.counted, c)
			l.addTotal(-1)
			c.closing = true
			p.closing++
			l.closing++
		}
	}
}

// forget drops the entry of an address without connections.
func (l *limitListener) forget(ip netip.Addr, p *peer) {
	if len(p.counted) == 0 && p.closing == 0 {
		delete(l.byIP, ip)
	}
}

// release forgets c, once.
func (l *limitListener) release(c *limitConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.released {
		return
	}
	c.released = true
	p := l.byIP[c.ip]
	if c.closing {
		p.closing--
		l.closing--
	} else {
		delete(p.counted, c)
		l.addTotal(-1)
	}
	l.forget(c.ip, p)
}

// limitConn is a counted connection; its flags are guarded by l.mu.
type limitConn struct {
	net.Conn
	l        *limitListener
	ip       netip.Addr
	closing  bool // uncounted: the peer has closed
	released bool // closed by the server
	idle     idleConn
}

func (c *limitConn) Close() error {
	c.l.release(c)
	return c.Conn.Close()
}

// RemoteIP returns the IP of a TCP peer, or the zero Addr (unix sockets).
func RemoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
