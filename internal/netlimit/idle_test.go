package netlimit

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/testutil"
)

// readingServer accepts on a limited listener; each connection greets
// "ok", is marked Authenticated when its first line is "login", and is
// closed once a read fails (its deadline, one minute per line, passed).
func readingServer(t *testing.T, o Options) string {
	t.Helper()
	inner := testutil.Listen(t)
	o.Refusal, o.Log = "busy\r\n", slog.New(slog.DiscardHandler)
	l := New(inner, o)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go readLines(c)
		}
	}()
	return inner.Addr().String()
}

func readLines(c net.Conn) {
	defer c.Close()
	io.WriteString(c, "ok\r\n")
	r := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(time.Minute))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if strings.TrimSpace(line) == "login" {
			Authenticated(c)
		}
		io.WriteString(c, "ok\r\n")
	}
}

// dialOK connects, reads the greeting and returns the connection.
func dialOK(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	if l, err := r.ReadString('\n'); err != nil || l != "ok\r\n" {
		t.Fatalf("greeting %q, %v", l, err)
	}
	return c, r
}

// closedWithin fails unless the server closes c within d (well under
// the one minute it asks for each line).
func closedWithin(t *testing.T, c net.Conn, r *bufio.Reader, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	if _, err := r.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Fatalf("not closed by the server within %v: %v", d, err)
	}
}

// A silent connection that has not authenticated is closed after
// LoginTimeout; an authenticated one keeps its own deadline.
func TestLoginTimeoutClosesSilentConnections(t *testing.T) {
	addr := readingServer(t, Options{Max: 10, PerIP: 10, LoginTimeout: 200 * time.Millisecond})
	authed, ar := dialOK(t, addr)
	io.WriteString(authed, "login\r\n")
	ar.ReadString('\n')
	silent, sr := dialOK(t, addr)
	closedWithin(t, silent, sr, 5*time.Second)
	// The silent one has had its 200 ms; the authenticated one still answers.
	io.WriteString(authed, "noop\r\n")
	authed.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := ar.ReadString('\n'); err != nil || l != "ok\r\n" {
		t.Fatalf("authenticated connection: %q, %v", l, err)
	}
}

// When three quarters of the slots are taken, the connections already
// waiting (and new ones) have StressTimeout left, not their minute.
func TestStressShortensWaitingConnections(t *testing.T) {
	addr := readingServer(t, Options{Max: 4, PerIP: 4, StressTimeout: 100 * time.Millisecond})
	first, fr := dialOK(t, addr)
	io.WriteString(first, "noop\r\n") // its next read waits a minute
	fr.ReadString('\n')
	dialOK(t, addr)
	third, tr := dialOK(t, addr) // 3 of 4: stressed
	closedWithin(t, first, fr, 5*time.Second)
	closedWithin(t, third, tr, 5*time.Second)
}

// On a listener of implicit TLS, the refusal comes inside TLS, where the
// client can read it.
func TestRefusalInsideTLS(t *testing.T) {
	server, client := testutil.TLSConfigs(t)
	addr := readingServer(t, Options{Max: 1, PerIP: 1, TLS: server})
	held, err := net.Dial("tcp", addr) // takes the one slot
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	bufio.NewReader(held).ReadString('\n')
	c, err := tls.Dial("tcp", addr, client)
	if err != nil {
		t.Fatalf("TLS handshake with the refusing listener: %v", err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "busy\r\n" {
		t.Fatalf("refusal inside TLS: %q, %v", l, err)
	}
}
