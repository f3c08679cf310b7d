package smtpd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/netlimit"
)

// The gate runs before the banner: the connect checks (DNS lists, iprev)
// and, on the MX listener, the pregreet test postscreen made common: the
// first line of a multi-line greeting ("220-") is sent, and a client
// that talks before the last line ("220 ") has not waited for the
// server's greeting as RFC 5321 §4.3.1 and §3.1 require — spam software
// often does not — and is refused. A client that waited is remembered
// for a day, so it meets the wait once.

// pregreetMemory is how long a client that passed the pregreet test
// skips it.
const pregreetMemory = 24 * time.Hour

// maxPregreetMemory bounds the clients remembered.
const maxPregreetMemory = 100000

// errPregreet is the reply to a client that talked first.
var errPregreet = mail.Errorf(554, [3]int{5, 5, 1}, "Protocol error: you talked before the greeting (RFC 5321 section 4.3.1)")

// gate holds what the connections of one listener share.
type gate struct {
	checks  *delivery.Checks // nil: none
	mode    Mode
	host    string
	wait    time.Duration  // pregreet wait, 0: no test
	trusted []netip.Prefix // never tested
	mu      sync.Mutex
	passed  map[netip.Addr]time.Time
}

type gateListener struct {
	net.Listener
	g *gate
}

func (l gateListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &checkedConn{Conn: c, g: l.g}, nil
}

// checkedConn runs the gate at its first write, which is the banner, in
// the connection's own goroutine: a slow DNS answer or the pregreet wait
// holds up that client alone.
type checkedConn struct {
	net.Conn
	g       *gate
	once    sync.Once
	conn    *delivery.Conn // what the connect checks saw and found
	refused error
}

// NetConn returns the wrapped connection (netlimit.Authenticated).
func (c *checkedConn) NetConn() net.Conn { return c.Conn }

func (c *checkedConn) Write(b []byte) (int, error) {
	c.once.Do(c.check)
	if c.refused != nil {
		return 0, c.refused
	}
	return c.Conn.Write(b)
}

func (c *checkedConn) check() {
	ip := netlimit.RemoteIP(c.RemoteAddr())
	c.conn = &delivery.Conn{Listener: c.g.mode.String(), IP: ip, Trusted: inAny(c.g.trusted, ip)}
	replies := make(chan *mail.Error, 1)
	go func() { replies <- c.g.checks.Connect(context.Background(), c.conn) }()
	pre := c.pregreet()
	reply := <-replies
	if pre != nil {
		reply = pre
	}
	if reply == nil {
		return
	}
	code := reply.Code
	if code/100 == 5 {
		code = 554 // RFC 5321 §3.1, §4.2.3: the refusal greeting
	}
	fmt.Fprintf(c.Conn, "%d %d.%d.%d %s\r\n", code, reply.Enhanced[0], reply.Enhanced[1], reply.Enhanced[2], reply.Message)
	c.refused = fmt.Errorf("smtpd: connection refused before the banner: %w", reply)
	c.Conn.Close()
}

// pregreet sends the greeting's first line and waits; a client that
// talks meanwhile gets errPregreet.
func (c *checkedConn) pregreet() *mail.Error {
	ip := c.conn.IP
	if c.g.wait <= 0 || !ip.IsValid() || c.g.exempt(ip) {
		return nil
	}
	if _, err := fmt.Fprintf(c.Conn, "220-%s ESMTP\r\n", c.g.host); err != nil {
		return errPregreet
	}
	c.Conn.SetReadDeadline(time.Now().Add(c.g.wait))
	var b [1]byte
	n, err := c.Conn.Read(b[:])
	c.Conn.SetReadDeadline(time.Time{})
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		c.g.pass(ip)
		return nil
	}
	return errPregreet // talked first, or went away
}

// inAny reports whether ip is in one of prefixes.
func inAny(prefixes []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// exempt: trusted, or passed within pregreetMemory.
func (g *gate) exempt(ip netip.Addr) bool {
	if inAny(g.trusted, ip) {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.passed[ip]
	return ok && time.Since(t) < pregreetMemory
}

func (g *gate) pass(ip netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.passed == nil || len(g.passed) >= maxPregreetMemory {
		g.passed = map[netip.Addr]time.Time{}
	}
	g.passed[ip] = time.Now()
}
