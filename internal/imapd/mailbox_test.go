package imapd

import (
	"context"
	"fmt"
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

// TestInvalidModifiedUTF7: a name with an "&" that starts no valid
// modified UTF-7 shift is refused with NO, not BAD (the syntax is fine;
// RFC 3501 §5.1.3), and as a LIST pattern it matches nothing, the
// session going on (imaptest's atoms group).
func TestInvalidModifiedUTF7(t *testing.T) {
	t.Parallel()
	c := loggedIn(t)
	const atom = "!#$&'+,-.0123456789:;<=>?@^_`|[}"
	c.cmd("a", "SELECT "+atom, "NO [CANNOT]")
	c.cmd("b", `CREATE "Bad&name"`, "NO [CANNOT]") // unterminated shift
	c.cmd("c", `CREATE "&AGE-"`, "NO [CANNOT]")    // "a" must stand for itself
	c.cmd("d", `SUBSCRIBE "x&-&Jjo"`, "NO [CANNOT]")
	for i, pattern := range []string{atom + "%*", `"&Jjo%"`, `("*" "&Jjo!-")`} {
		lines, _ := c.cmd(fmt.Sprint("l", i), `LIST "" `+pattern, "OK")
		if i < 2 && len(lines) > 0 {
			t.Errorf("LIST %s: %q", pattern, lines)
		}
		if i == 2 && !has(lines, `"/" INBOX`) { // the valid pattern still matches
			t.Errorf("LIST %s: %q", pattern, lines)
		}
	}
	if lines, _ := c.cmd("m", `LSUB "&Jjo!-" "*"`, "OK"); len(lines) > 0 {
		t.Errorf("LSUB with an invalid reference: %q", lines)
	}
	c.cmd("n", `CREATE "&AOk-t&AOk-"`, "OK") // valid: "été"
	c.cmd("o", `SELECT "&AOk-t&AOk-"`, "OK")
}

// TestDeleteParent: DELETE of a mailbox with inferiors removes it and its
// messages and leaves its name \Noselect while a mailbox is below it
// (RFC 3501 §6.3.4, RFC 9051 §6.3.5), as a second session sees it; CREATE
// makes it a new, empty mailbox again.
func TestDeleteParent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.start(nil)
	a, b, sel := e.dial(addr), e.dial(addr), e.dial(addr)
	for _, c := range []*conn{a, b, sel} {
		c.login()
	}
	a.cmd("a", "CREATE Parent/Child/Leaf", "OK")
	e.deliver(e.alice, "Parent", testMessage(1), testMessage(2))
	lines, _ := b.cmd("b", "STATUS Parent (MESSAGES UIDVALIDITY)", "OK")
	before := lines[0]
	b.cmd("c", "NOTIFY SET (PERSONAL (MailboxName))", "OK")
	sel.cmd("s", "SELECT Parent", "OK")
	a.cmd("d", "DELETE Parent", "OK")
	if l := b.Line(); l != `* LIST (\Noselect \HasChildren) "/" Parent` { // RFC 5465 §5.4
		t.Fatalf("NOTIFY of the DELETE: %q", l)
	}
	if lines, _ := sel.cmd("s2", "NOOP", "OK"); !has(lines, "* BYE ") {
		t.Fatalf("the session with Parent selected: %q", lines)
	}
	b.cmd("e", "NOTIFY NONE", "OK")
	lines, _ = b.cmd("f", `LIST "" "P*"`, "OK")
	want := []string{`* LIST (\Noselect \HasChildren) "/" Parent`, `* LIST (\HasChildren) "/" Parent/Child`,
		`* LIST (\HasNoChildren) "/" Parent/Child/Leaf`}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("LIST after DELETE of the parent: %q, want %q", lines, want)
	}
	b.cmd("g", "SELECT Parent", "NO [NONEXISTENT]")
	b.cmd("h", "STATUS Parent (MESSAGES)", "NO [NONEXISTENT]")
	b.cmd("i", "DELETE Parent", "NO [HASCHILDREN]") // \Noselect with inferiors (RFC 3501 §6.3.4)
	b.cmd("i2", "RENAME Parent Moved", "OK")        // its inferiors move (RFC 3501 §6.3.5)
	if lines, _ = b.cmd("i3", `LIST "" "Moved"`, "OK"); len(lines) != 1 || lines[0] != `* LIST (\Noselect \HasChildren) "/" Moved` {
		t.Fatalf("the \\Noselect level renamed: %q", lines)
	}
	b.cmd("i4", "RENAME Moved Parent", "OK")
	b.cmd("j", "CREATE Parent", "OK")
	lines, _ = a.cmd("k", "STATUS Parent (MESSAGES UIDVALIDITY)", "OK")
	if !strings.HasPrefix(lines[0], "* STATUS Parent (MESSAGES 0 UIDVALIDITY ") || lines[0] == before {
		t.Fatalf("Parent created again: %q, was %q", lines, before)
	}
	a.cmd("l", "SELECT Parent", "OK")
	a.cmd("m", "DELETE Parent/Child", "OK")
	// The last mailbox below a \Noselect level takes it along.
	b.cmd("n", "DELETE Parent/Child/Leaf", "OK")
	if lines, _ = b.cmd("o", `LIST "" "Parent/*"`, "OK"); len(lines) != 0 {
		t.Fatalf("after deleting the last child: %q", lines)
	}
	if lines, _ = b.cmd("p", `LIST "" "Parent"`, "OK"); len(lines) != 1 || lines[0] != `* LIST (\HasNoChildren) "/" Parent` {
		t.Fatalf("the re-created parent: %q", lines)
	}
}

// TestRecreatedMailboxIsNew: a mailbox deleted and created again under
// its old name is a new, empty mailbox with a new UIDVALIDITY (RFC 9051
// §2.3.1.1), for a session that had it selected, one that only asked
// its STATUS, and one that comes later: no view of the old mailbox
// survives it.
func TestRecreatedMailboxIsNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.start(nil)
	a, b := e.dial(addr), e.dial(addr)
	a.login()
	b.login()
	a.cmd("c", "CREATE box", "OK")
	for i := 1; i <= 5; i++ {
		a.cmd("ap", appendCmd("box", "", testMessage(i)), "OK")
	}
	lines, _ := b.cmd("s", "SELECT box", "OK")
	if !has(lines, "* 5 EXISTS") {
		t.Fatalf("SELECT of the first box: %q", lines)
	}
	uidvalidity := func(lines []string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, "* OK [UIDVALIDITY ") {
				return l
			}
		}
		t.Fatalf("no UIDVALIDITY in %q", lines)
		return ""
	}
	old := uidvalidity(lines)
	a.cmd("d", "DELETE box", "OK")
	a.cmd("c2", "CREATE box", "OK")
	for i := 6; i <= 8; i++ {
		a.cmd("ap", appendCmd("box", "", testMessage(i)), "OK")
	}
	lines, _ = a.cmd("st", "STATUS box (MESSAGES UIDNEXT)", "OK")
	expectLines(t, "STATUS of the new box", lines, "* STATUS box (MESSAGES 3 UIDNEXT 4)")
	for _, c := range []*conn{a, e.dial(addr)} {
		if c != a {
			c.login()
		}
		lines, _ = c.cmd("s", "SELECT box", "OK")
		if !has(lines, "* 3 EXISTS") || uidvalidity(lines) == old {
			t.Fatalf("SELECT of the new box: %q (old %s)", lines, old)
		}
		lines, _ = c.cmd("f", "UID FETCH 1:* (UID)", "OK")
		expectLines(t, "UIDs in the new box", lines,
			"* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)")
	}
	// b had the old box selected: it is told the mailbox is gone, never
	// shown the new one's messages as the old one's.
	if lines, _ = b.cmd("n", "NOOP", "OK"); !has(lines, "* BYE ") {
		t.Fatalf("the session on the deleted box: %q", lines)
	}
}
