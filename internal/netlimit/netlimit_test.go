package netlimit

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// served is a limited listener on loopback whose server greets every
// connection it accepts with "ok" and keeps it open until closed
// through closeServerSide or the end of the test.
type served struct {
	t        *testing.T
	addr     string
	accepted chan net.Conn
}

func serve(t *testing.T, max, perIP int) *served {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listen(inner, max, perIP, "busy\r\n", slog.New(slog.DiscardHandler))
	s := &served{t: t, addr: inner.Addr().String(), accepted: make(chan net.Conn, 100)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "ok\r\n")
			s.accepted <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		close(s.accepted)
		for c := range s.accepted {
			c.Close()
		}
	})
	return s
}

// dial connects and returns the client end and the server's first line.
func (s *served) dial() (net.Conn, string) {
	s.t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		s.t.Fatalf("read: %v", err)
	}
	return c, strings.TrimSpace(line)
}

func (s *served) expect(want string) net.Conn {
	s.t.Helper()
	c, got := s.dial()
	if got != want {
		s.t.Fatalf("server said %q, want %q", got, want)
	}
	return c
}

// closeServerSide closes the server's end of the n connections accepted
// first (among those not yet closed).
func (s *served) closeServerSide(n int) {
	for range n {
		(<-s.accepted).Close()
	}
}

// TestPeerCloseFreesSlot: a connection its client has closed stops
// counting at once, before the server closes its end.
func TestPeerCloseFreesSlot(t *testing.T) {
	s := serve(t, 100, 2)
	a, b := s.expect("ok"), s.expect("ok")
	s.expect("busy")
	a.Close()
	b.Close()
	s.expect("ok")
	s.expect("ok")
	s.expect("busy")
}

// TestClosingConnectionsBounded: connections closed by their peer but
// not yet by the server are at most the per-IP limit; beyond that they
// count again until the server closes them.
func TestClosingConnectionsBounded(t *testing.T) {
	s := serve(t, 100, 2)
	s.expect("ok").Close()
	s.expect("ok").Close()
	c, d := s.expect("ok"), s.expect("ok") // the first two are closing
	c.Close()
	d.Close()
	s.expect("busy") // two closing already: c and d still count
	s.closeServerSide(2)
	s.expect("ok")
	s.expect("ok")
	s.expect("busy")
}

// TestTotalLimit: the total limit holds across addresses, and a peer's
// close frees its place there too.
func TestTotalLimit(t *testing.T) {
	s := serve(t, 1, 5)
	a := s.expect("ok")
	s.expect("busy")
	a.Close()
	s.expect("ok")
}
