// Package testutil holds helpers for Facteur's tests: certificates and
// line-oriented protocol conversations on real sockets.
package testutil

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"facteur.dev/facteur/internal/tlsutil"
)

// TLSConfigs returns a server config with a fresh self-signed certificate
// for localhost/127.0.0.1 and a client config that trusts it.
func TLSConfigs(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.SelfSigned("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return &tls.Config{Certificates: []tls.Certificate{cert}},
		&tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// Listen opens a TCP listener on a free loopback port.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// SendAll connects to addr, sends input, closes its writing side and
// waits until the server closes the connection: for fuzzing a live
// session, where a server that hangs fails the test at the 10 s deadline.
func SendAll(t testing.TB, addr, input string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, c); done <- err }()
	c.Write([]byte(input))
	c.(*net.TCPConn).CloseWrite()
	if err := <-done; errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server did not close the session: %v", err)
	}
}

// Conn is a line-oriented client connection for protocol tests.
type Conn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// Dial connects to addr with a 10 s deadline per exchange.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return Wrap(t, c)
}

// Wrap makes a Conn of an open connection.
func Wrap(t testing.TB, c net.Conn) *Conn {
	return &Conn{t: t, conn: c, r: bufio.NewReader(c)}
}

// Raw returns the underlying connection.
func (c *Conn) Raw() net.Conn { return c.conn }

// StartTLS upgrades the connection as a client.
func (c *Conn) StartTLS(cfg *tls.Config) {
	c.t.Helper()
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

// Send writes one line with CRLF.
func (c *Conn) Send(line string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// Line reads one line without its CRLF.
func (c *Conn) Line() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// Reply reads an SMTP reply, possibly multi-line (RFC 5321 §4.2), and
// returns its lines joined by "\n".
func (c *Conn) Reply() string {
	c.t.Helper()
	var lines []string
	for {
		l := c.Line()
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// Expect sends line (unless empty) and fails unless the reply starts with
// prefix; it returns the reply.
func (c *Conn) Expect(line, prefix string) string {
	c.t.Helper()
	if line != "" {
		c.Send(line)
	}
	r := c.Reply()
	if !strings.HasPrefix(r, prefix) {
		c.t.Fatalf("after %q: got %q, want prefix %q", line, r, prefix)
	}
	return r
}

// EMFILEListener fails its first Fails Accepts with EMFILE ("too many open
// files"), as a process out of file descriptors sees, then accepts.
type EMFILEListener struct {
	net.Listener
	Fails int

	mu     sync.Mutex
	failed int
}

// Accept returns EMFILE Fails times, then l.Listener's connections.
func (l *EMFILEListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.failed < l.Fails
	if fail {
		l.failed++
	}
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// Failed returns how many Accepts have failed.
func (l *EMFILEListener) Failed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// UntilClosed reads lines until the server closes the connection, and
// fails if it has not within 10 s; it returns them without their CRLF.
func (c *Conn) UntilClosed() []string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if l != "" {
			lines = append(lines, strings.TrimRight(l, "\r\n"))
		}
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return lines
		}
		if err != nil {
			c.t.Fatalf("connection not closed: %v after %d lines", err, len(lines))
		}
	}
}

// SendAll writes lines, each with CRLF, in one write from a goroutine (a
// server that stops reading cannot block the test); the result arrives
// on the channel.
func (c *Conn) SendAll(lines []string) <-chan error {
	done := make(chan error, 1)
	data := []byte(strings.Join(lines, "\r\n") + "\r\n")
	go func() {
		c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err := c.conn.Write(data)
		done <- err
	}()
	return done
}
