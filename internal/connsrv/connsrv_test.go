package connsrv

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"testing"

	"facteur.dev/facteur/internal/testutil"
)

// greeter is a session that says hello and hangs up.
type greeter struct{ c net.Conn }

func (g greeter) Serve()       { g.c.Write([]byte("hello\r\n")); g.c.Close() }
func (g greeter) Interrupt()   { g.c.Close() }
func (g greeter) Close() error { return g.c.Close() }

func newGreeter(c net.Conn) Conn { return greeter{c} }

// A listener out of file descriptors for a while (EMFILE) does not stop
// the accept loop: it backs off and serves the sessions that follow.
func TestAcceptRetriesEMFILE(t *testing.T) {
	t.Parallel()
	l := &testutil.EMFILEListener{Listener: testutil.Listen(t), Fails: 6}
	var s Server
	s.Log = slog.New(slog.DiscardHandler)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(l, newGreeter) }()
	t.Cleanup(func() { s.Close() })
	for range 3 {
		c := testutil.Dial(t, l.Addr().String())
		c.Expect("", "hello")
	}
	if l.Failed() != 6 {
		t.Fatalf("%d accept errors, want 6", l.Failed())
	}
	select {
	case err := <-errc:
		t.Fatalf("Serve returned %v", err)
	default:
	}
}

// A listener closed outside Shutdown ends Serve with that error, not
// ErrServerClosed, so the caller can tell an admin.
func TestServeReturnsRealError(t *testing.T) {
	t.Parallel()
	l := testutil.Listen(t)
	var s Server
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(l, newGreeter) }()
	c := testutil.Dial(t, l.Addr().String())
	c.Expect("", "hello")
	l.Close()
	if err := <-errc; err == nil || errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
}

// Recover ends a panicking session with its error line and closes the
// connection.
func TestRecover(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	go func() {
		defer Recover(slog.New(slog.DiscardHandler), server, func() { server.Write([]byte("-ERR bug\r\n")) })
		panic("boom")
	}()
	line, err := bufio.NewReader(client).ReadString('\n')
	if err != nil || line != "-ERR bug\r\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	if _, err := client.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open")
	}
}
