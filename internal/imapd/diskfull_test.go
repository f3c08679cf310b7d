package imapd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/store/sqlite"
	"facteur.dev/facteur/internal/testutil"
)

// fullDiskEnv is an env whose store is on a tmpfs with a reserve of
// reserve bytes, alice's INBOX holding 20 messages, and the disk full.
func fullDiskEnv(t *testing.T, reserve int64) *env {
	dir := testutil.Tmpfs(t, 16<<20)
	e := newEnvIn(t, dir)
	for i := range 20 {
		e.deliver(e.alice, "INBOX", testMessage(i))
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), dir, sqlite.Options{Owner: true, ReserveBytes: reserve})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e.store = s
	e.auth = auth.New(auth.StoreLookup{Accounts: s}, auth.Options{FailureDelay: time.Millisecond, HashParams: auth.Params{Memory: 1024, Time: 1, Threads: 1}})
	testutil.FillDisk(t, dir)
	return e
}

// On a full disk a user can still flag and expunge mail (the store's
// reserve), and what cannot be stored gets NO [OVERQUOTA], not SERVERBUG.
func TestStoreAndExpungeOnAFullDisk(t *testing.T) {
	e := fullDiskEnv(t, 2<<20)
	addr := e.start(nil)
	c := e.dial(addr)
	c.login()
	msg := strings.Repeat("x", 20<<10) // more than the disk has, less than the reserve
	c.Send(fmt.Sprintf("a APPEND INBOX {%d}", len(msg)))
	if l := c.Line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND: %q", l)
	}
	c.Send(msg)
	c.until("a", "NO [OVERQUOTA]")
	c.cmd("s", "SELECT INBOX", "OK")
	c.cmd("f", `STORE 1:10 +FLAGS (\Deleted)`, "OK")
	c.cmd("x", "EXPUNGE", "OK")
	c.cmd("g", `STORE 1 +FLAGS (\Flagged)`, "OK")

	other := e.dial(addr)
	other.login()
	lines, _ := other.cmd("s", "EXAMINE INBOX", "OK")
	if !has(lines, "* 10 EXISTS") {
		t.Fatalf("a second session sees: %q", lines)
	}
	lines, _ = other.cmd("f", "FETCH 1 FLAGS", "OK")
	if !has(lines, `\Flagged`) {
		t.Fatalf("flag not seen by a second session: %q", lines)
	}
}

// Without a reserve even SELECT (whose \Recent claim writes) fails on
// the same full disk: the test above would fail without the feature it
// tests.
func TestSelectOnAFullDiskWithoutReserveFails(t *testing.T) {
	e := fullDiskEnv(t, 0)
	c := e.dial(e.start(nil))
	c.login()
	c.cmd("s", "SELECT INBOX", "NO [OVERQUOTA]")
}
