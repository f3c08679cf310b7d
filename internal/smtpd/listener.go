package smtpd

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// limitListener refuses connections beyond a total and a per-IP limit with
// a 421 reply (RFC 5321 §3.8), without starting a session.
type limitListener struct {
	net.Listener
	max, perIP int
	log        *slog.Logger
	mu         sync.Mutex
	total      int
	byIP       map[netip.Addr]int
}

func newLimitListener(l net.Listener, max, perIP int, log *slog.Logger) net.Listener {
	return &limitListener{Listener: l, max: max, perIP: perIP, log: log, byIP: map[netip.Addr]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr())
		if l.acquire(ip) {
			return &limitConn{Conn: c, l: l, ip: ip}, nil
		}
		l.log.Warn("connection refused: limit reached", "ip", ip)
		go refuse(c)
	}
}

func refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "421 4.7.0 Too many connections, try again later\r\n")
	c.Close()
}

func (l *limitListener) acquire(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max || (ip.IsValid() && l.byIP[ip] >= l.perIP) {
		return false
	}
	l.total++
	l.byIP[ip]++
	return true
}

func (l *limitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

type limitConn struct {
	net.Conn
	l    *limitListener
	ip   netip.Addr
	once sync.Once
}

func (c *limitConn) Close() error {
	c.once.Do(func() { c.l.release(c.ip) })
	return c.Conn.Close()
}

// remoteIP returns the IP of a TCP peer, or the zero Addr (unix sockets).
func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
