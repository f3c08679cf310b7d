// Package netlimit bounds the connections a listener accepts, in total and
// per client IP, for every protocol front-end.
package netlimit

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// limitListener refuses connections beyond a total and a per-IP limit.
type limitListener struct {
	net.Listener
	max, perIP int
	refusal    string
	log        *slog.Logger
	mu         sync.Mutex
	total      int
	byIP       map[netip.Addr]int
}

// Listen wraps l: beyond max connections in total or perIP from one address,
// a new connection gets refusal (a protocol greeting such as
// "421 4.7.0 …\r\n") and is closed without a session.
func Listen(l net.Listener, max, perIP int, refusal string, log *slog.Logger) net.Listener {
	return &limitListener{Listener: l, max: max, perIP: perIP, refusal: refusal, log: log, byIP: map[netip.Addr]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := RemoteIP(c.RemoteAddr())
		if l.acquire(ip) {
			return &limitConn{Conn: c, l: l, ip: ip}, nil
		}
		l.log.Warn("connection refused: limit reached", "ip", ip)
		go refuse(c, l.refusal)
	}
}

func refuse(c net.Conn, refusal string) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, refusal)
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

// RemoteIP returns the IP of a TCP peer, or the zero Addr (unix sockets).
func RemoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
