package pop3d

import (
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/connsrv"
)

// A client that sends nothing but invalid commands is disconnected after
// connsrv.MaxStrikes of them in a row, not after 5,000; a valid command
// in between starts the count again.
func TestGarbageCommandsEndTheSession(t *testing.T) {
	e := newEnv(t)
	c := e.dial(e.serve())
	for range connsrv.MaxStrikes - 1 {
		c.expect("FROBNICATE", "-ERR")
	}
	c.expect("CAPA", "+OK")
	for c.Line() != "." {
	}
	garbage := make([]string, 5000)
	for i := range garbage {
		garbage[i] = "FROBNICATE"
		if i%2 == 1 {
			garbage[i] = "RETR 1" // not valid before login
		}
	}
	c.SendAll(garbage)
	lines := c.UntilClosed()
	if len(lines) != connsrv.MaxStrikes+1 || !strings.HasPrefix(lines[len(lines)-1], "-ERR Too many invalid commands") {
		t.Fatalf("%d lines before the close (want %d -ERR and a last one), last %q", len(lines), connsrv.MaxStrikes, lines[len(lines)-1])
	}
}

// A client that connects and says nothing is disconnected after the
// login timeout, not the 10-minute idle timeout.
func TestSilentClientClosedByLoginTimeout(t *testing.T) {
	e := newEnv(t)
	_, addr := e.start(func(o *Options) { o.LoginTimeout = 200 * time.Millisecond })
	c := e.dial(addr)
	if lines := c.UntilClosed(); len(lines) != 0 {
		t.Fatalf("before the close: %q", lines)
	}
}
