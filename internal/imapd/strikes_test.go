package imapd

import (
	"fmt"
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
	addr := e.start(nil)
	c := e.dial(addr)
	for i := range connsrv.MaxStrikes - 1 {
		c.cmd(fmt.Sprint("g", i), "FROBNICATE", "BAD")
	}
	c.cmd("n", "NOOP", "OK")
	garbage := make([]string, 5000)
	for i := range garbage {
		garbage[i] = fmt.Sprintf("g%d FROBNICATE %d", i, i)
		if i%2 == 1 {
			garbage[i] = "\x01\x02 }{"
		}
	}
	c.SendAll(garbage)
	lines := c.UntilClosed()
	if len(lines) != connsrv.MaxStrikes+1 || !strings.HasPrefix(lines[len(lines)-1], "* BYE Too many invalid commands") {
		t.Fatalf("%d lines before the close (want %d BAD and a BYE), last %q", len(lines), connsrv.MaxStrikes, lines[len(lines)-1])
	}
}

// A client that connects and says nothing is logged out after the login
// timeout, not the 30-minute autologout timer.
func TestSilentClientClosedByLoginTimeout(t *testing.T) {
	e := newEnv(t)
	c := e.dial(e.start(func(o *Options) { o.LoginTimeout = 200 * time.Millisecond }))
	lines := c.UntilClosed()
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "* BYE Autologout") {
		t.Fatalf("before the close: %q", lines)
	}
}
