package imapd

import (
	"slices"
	"strconv"
	"testing"
)

// TestSearchResReset: SELECT, EXAMINE, CLOSE and UNSELECT empty the
// saved result, also when another mailbox is selected (RFC 5182 §2.1).
func TestSearchResReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	c := e.dial(e.start(nil))
	c.login()
	c.cmd("m", "CREATE Other", "OK")
	for _, next := range []string{"SELECT INBOX", "EXAMINE INBOX", "SELECT Other", "CLOSE", "UNSELECT"} {
		c.cmd("a", "SELECT INBOX", "OK")
		c.cmd("b", "SEARCH RETURN (SAVE) ALL", "OK")
		if lines, _ := c.cmd("c", "FETCH $ (UID)", "OK"); len(lines) != 2 {
			t.Fatalf("FETCH $ after SAVE: %q", lines)
		}
		c.cmd("d", next, "OK")
		if next == "CLOSE" || next == "UNSELECT" {
			c.cmd("e", "SELECT INBOX", "OK")
		}
		if lines, _ := c.cmd("f", "UID FETCH $ (UID)", "OK"); len(lines) != 0 {
			t.Errorf("after %s, FETCH $ answered %q", next, lines)
		}
	}
}

// TestContextUpdate: a live SEARCH and a live SORT follow another
// session's delivery, flag change and expunge with ADDTO and REMOVEFROM,
// during IDLE and after a command; CANCELUPDATE ends one; the number of
// live searches is bounded (RFC 5267 §4.3, §4.4).
func TestContextUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	addr := e.start(nil)
	a := e.dial(addr)
	a.login()
	if lines, _ := a.cmd("c", "CAPABILITY", "OK"); !has(lines, " CONTEXT=SEARCH") || !has(lines, " CONTEXT=SORT") {
		t.Errorf("CONTEXT not advertised: %q", lines)
	}
	a.cmd("s", "SELECT INBOX", "OK")
	expect := func(got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	lines, _ := a.cmd("u1", "UID SEARCH RETURN (UPDATE) UNSEEN", "OK")
	expect(lines, `* ESEARCH (TAG "u1") UID ALL 1:2`)
	lines, _ = a.cmd("u2", "SORT RETURN (UPDATE) (REVERSE SUBJECT) UTF-8 UNSEEN", "OK")
	expect(lines, `* ESEARCH (TAG "u2") ALL 2,1`)
	lines, _ = a.cmd("p", "UID SEARCH RETURN (CONTEXT PARTIAL 2:5) ALL", "OK")
	expect(lines, `* ESEARCH (TAG "p") UID PARTIAL (2:5 2)`)

	// During IDLE: a delivery.
	a.Send("i IDLE")
	if l := a.Line(); l != "+ idling" {
		t.Fatalf("IDLE: %q", l)
	}
	e.deliver(e.alice, "INBOX", testMessage(3))
	expect([]string{a.Line(), a.Line(), a.Line(), a.Line()},
		"* 3 EXISTS", "* 3 RECENT", `* ESEARCH (TAG "u1") UID ADDTO (0 3)`, `* ESEARCH (TAG "u2") ADDTO (1 3)`)
	a.Send("DONE")
	a.until("i", "OK")

	// After a command: b reads message 2.
	b := e.dial(addr)
	b.login()
	b.cmd("s", "SELECT INBOX", "OK")
	b.cmd("f", "UID STORE 2 +FLAGS (\\Seen)", "OK")
	lines, _ = a.cmd("n", "NOOP", "OK")
	expect(lines, `* ESEARCH (TAG "u1") UID REMOVEFROM (0 2)`, `* ESEARCH (TAG "u2") REMOVEFROM (2 2)`,
		`* 2 FETCH (UID 2 FLAGS (\Recent \Seen))`) // a selected first: all three are recent to it

	// CANCELUPDATE u1, then b expunges message 1: only u2 hears of it, by
	// sequence number (SORT, not UID SORT), before the EXPUNGE.
	a.cmd("x", `CANCELUPDATE "u1"`, "OK")
	a.cmd("x2", `CANCELUPDATE "u1"`, "BAD")
	a.cmd("x3", `CANCELUPDATE "u2" "nope"`, "BAD") // refused whole: u2 stays live
	b.cmd("d", "UID STORE 1 +FLAGS.SILENT (\\Deleted)", "OK")
	b.cmd("e", "EXPUNGE", "OK")
	lines, _ = a.cmd("n2", "NOOP", "OK")
	expect(lines, `* ESEARCH (TAG "u2") REMOVEFROM (2 1)`, "* 1 EXPUNGE", "* 2 RECENT")
	// A delivery now numbered 3 though its UID is 4.
	e.deliver(e.alice, "INBOX", testMessage(4))
	lines, _ = a.cmd("n3", "NOOP", "OK")
	expect(lines, "* 3 EXISTS", "* 3 RECENT", `* ESEARCH (TAG "u2") ADDTO (1 3)`)

	// The limit: u2 and seven more, then NOUPDATE.
	for i := range maxLiveSearches - 1 {
		a.cmd("l"+strconv.Itoa(i), "UID SEARCH RETURN (UPDATE) ALL", "OK")
	}
	_, tagged := a.cmd("over", "UID SEARCH RETURN (UPDATE) ALL", "NO")
	if tagged != `over NO [NOUPDATE "over"] Too many live searches, CANCELUPDATE one first` {
		t.Errorf("over the limit: %q", tagged)
	}
	// A new selection ends every live search.
	a.cmd("s2", "SELECT INBOX", "OK")
	a.cmd("again", "UID SEARCH RETURN (UPDATE) ALL", "OK")
}
