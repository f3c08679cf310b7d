package imapd

import (
	"context"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/testutil"
)

func TestListExtendedAndStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	c := e.dial(e.start(nil))
	c.login()
	c.cmd("a", `CREATE "Work/Reports" (USE (\Flagged))`, "NO [USEATTR]")
	c.cmd("b", `CREATE "Work/Reports"`, "OK")
	c.cmd("c", `SUBSCRIBE Work/Reports`, "OK") // CREATE subscribes nothing
	lines, _ := c.cmd("d", `LIST (SUBSCRIBED RECURSIVEMATCH) "" "Work"`, "OK")
	if len(lines) != 1 || lines[0] != `* LIST (\HasChildren) "/" Work ("CHILDINFO" ("SUBSCRIBED"))` {
		t.Fatalf("RECURSIVEMATCH: %q", lines)
	}
	lines, _ = c.cmd("e", `LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES))`, "OK")
	if len(lines) != 10 || !has(lines, `\Trash) "/" Trash`) || has(lines, `"/" INBOX`) || !has(lines, "* STATUS Trash (MESSAGES 0)") {
		t.Fatalf("LIST SPECIAL-USE: %q", lines)
	}
	lines, _ = c.cmd("f", `LSUB "" "W*"`, "OK")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `* LSUB (\HasNoChildren) "/" Work/Reports`) {
		t.Fatalf("LSUB: %q", lines)
	}
	c.cmd("g", `SELECT INBOX`, "OK")
	c.cmd("h", `STORE 2 +FLAGS (\Deleted)`, "OK")
	lines, _ = c.cmd("i", `STATUS INBOX (MESSAGES UNSEEN DELETED SIZE APPENDLIMIT MAILBOXID RECENT)`, "OK")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "* STATUS INBOX (MESSAGES 2 UNSEEN 2 DELETED 1 SIZE ") ||
		!strings.Contains(lines[0], "APPENDLIMIT 67108864 MAILBOXID (F") {
		t.Fatalf("STATUS: %q", lines)
	}
	c.cmd("j", `DELETE INBOX`, "NO")
	c.cmd("k", `DELETE Work`, "OK")                // leaves Work \Noselect (RFC 3501 §6.3.4)
	c.cmd("k2", `DELETE Work`, "NO [HASCHILDREN]") // a \Noselect name with inferiors
	// RENAME INBOX moves its messages and leaves it empty.
	lines, _ = c.cmd("l", `RENAME INBOX "Old mail"`, "OK")
	if !has(lines, "* 2 EXPUNGE") || !has(lines, "* 1 EXPUNGE") {
		t.Fatalf("the selected INBOX after RENAME INBOX: %q", lines)
	}
	lines, _ = c.cmd("m", `STATUS "Old mail" (MESSAGES)`, "OK")
	if !has(lines, `* STATUS "Old mail" (MESSAGES 2)`) {
		t.Fatalf("after RENAME INBOX: %q", lines)
	}
}

// TestShutdownSaysBye: a session in IDLE gets BYE when the server shuts
// down, without waiting for the grace period.
func TestShutdownSaysBye(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := New(Options{Store: e.store, Auth: e.auth, PlaintextNetworks: loopback})
	l := testutil.Listen(t)
	go srv.Serve(l)
	c := e.dial(l.Addr().String())
	c.login()
	c.cmd("s", "SELECT INBOX", "OK")
	c.Send("i IDLE")
	if l := c.Line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if l := c.Line(); !strings.HasPrefix(l, "* BYE ") || time.Since(start) > 2*time.Second {
		t.Fatalf("after Shutdown: %q after %v", l, time.Since(start))
	}
}

// TestAutologout: a client silent for the autologout time gets BYE, in
// IDLE as between commands. Not parallel: it shortens the timer.
func TestAutologout(t *testing.T) {
	defer func(d time.Duration) { minIdle = d }(minIdle)
	minIdle = 200 * time.Millisecond
	e := newEnv(t)
	addr := e.start(nil)
	c := e.dial(addr)
	if l := c.Line(); !strings.HasPrefix(l, "* BYE Autologout") {
		t.Fatalf("silent client: %q", l)
	}
	c = e.dial(addr)
	c.login()
	c.Send("i IDLE")
	c.Line() // + idling
	if l := c.Line(); !strings.HasPrefix(l, "* BYE Autologout") {
		t.Fatalf("client in IDLE: %q", l)
	}
}

// TestQuota: GETQUOTAROOT, GETQUOTA, SETQUOTA refused, STATUS
// DELETED-STORAGE, and [OVERQUOTA] on APPEND and COPY.
func TestQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	c := e.dial(e.start(nil))
	c.login()
	lines, _ := c.cmd("a", "GETQUOTAROOT INBOX", "OK")
	if len(lines) != 1 || lines[0] != "* QUOTAROOT INBOX" {
		t.Fatalf("GETQUOTAROOT without a quota: %q", lines)
	}
	if err := e.store.SetQuota(context.Background(), e.alice.Address, 1024); err != nil { // two 150-byte messages use 300
		t.Fatal(err)
	}
	lines, _ = c.cmd("b", "GETQUOTAROOT INBOX", "OK")
	if len(lines) != 2 || lines[0] != `* QUOTAROOT INBOX ""` || lines[1] != `* QUOTA "" (STORAGE 1 1)` {
		t.Fatalf("GETQUOTAROOT: %q", lines)
	}
	c.cmd("c", `GETQUOTA ""`, "OK")
	c.cmd("d", `SETQUOTA "" (STORAGE 100)`, "NO [NOPERM]")
	c.cmd("e", "SELECT INBOX", "OK")
	c.cmd("f", `STORE 1:2 +FLAGS.SILENT (\Deleted)`, "OK")
	lines, _ = c.cmd("g", "STATUS INBOX (DELETED DELETED-STORAGE)", "OK")
	if !has(lines, "(DELETED 2 DELETED-STORAGE 1)") {
		t.Fatalf("STATUS: %q", lines)
	}
	c.cmd("h", "COPY 1:2 Archive", "OK")
	c.cmd("h2", "COPY 1:2 Archive", "OK")
	c.cmd("i", "COPY 1:2 Archive", "NO [OVERQUOTA]")
	msg := strings.Repeat("x", 3000)
	c.Send("j APPEND INBOX {" + itoa(uint32(len(msg))) + "+}")
	c.Send(msg)
	c.until("j", "NO [OVERQUOTA]")
}
