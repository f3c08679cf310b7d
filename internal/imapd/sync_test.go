package imapd

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// appendCmd is an APPEND of raw with flags (a list, "" for none) sent
// with a non-synchronizing literal.
func appendCmd(mailbox, flags, raw string) string {
	if flags != "" {
		flags = " " + flags
	}
	return fmt.Sprintf("APPEND %s%s {%d+}\r\n%s", mailbox, flags, len(raw), raw)
}

func expectLines(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestRecentFirstSession: \Recent is the first session's (RFC 3501
// §2.3.2). EXAMINE shows the recent messages and keeps them recent;
// SELECT takes them, so a second session and STATUS find none; a new
// message is recent to the session that is told of it first, and
// SEARCH RECENT, NEW and OLD follow the session's own \Recent.
func TestRecentFirstSession(t *testing.T) {
	t.Parallel()
	e, a, b := twoSessions(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))

	lines, _ := a.cmd("x", "EXAMINE INBOX", "OK")
	if !has(lines, "* 2 RECENT") || !has(lines, "* OK [PERMANENTFLAGS ()]") {
		t.Fatalf("EXAMINE: %q", lines)
	}
	lines, _ = a.cmd("f", "FETCH 1:* (FLAGS)", "OK")
	expectLines(t, "FETCH in EXAMINE", lines, `* 1 FETCH (FLAGS (\Recent))`, `* 2 FETCH (FLAGS (\Recent))`)
	a.cmd("c", "CLOSE", "OK")
	lines, _ = a.cmd("st", "STATUS INBOX (MESSAGES RECENT)", "OK")
	expectLines(t, "STATUS after EXAMINE", lines, "* STATUS INBOX (MESSAGES 2 RECENT 2)")

	lines, _ = a.cmd("s", "SELECT INBOX", "OK")
	if !has(lines, "* 2 RECENT") {
		t.Fatalf("SELECT after EXAMINE: %q", lines)
	}
	lines, _ = b.cmd("s", "SELECT INBOX", "OK")
	if !has(lines, "* 0 RECENT") {
		t.Fatalf("second SELECT: %q", lines)
	}
	lines, _ = b.cmd("f", "FETCH 1:* (FLAGS)", "OK")
	expectLines(t, "FETCH in the second session", lines, `* 1 FETCH (FLAGS ())`, `* 2 FETCH (FLAGS ())`)
	lines, _ = a.cmd("st", "STATUS INBOX (RECENT)", "OK") // its own selected mailbox: its count
	expectLines(t, "STATUS of the selected mailbox", lines, "* STATUS INBOX (RECENT 2)")
	lines, _ = b.cmd("st", "STATUS INBOX (RECENT)", "OK")
	expectLines(t, "STATUS in the second session", lines, "* STATUS INBOX (RECENT 0)")

	// A new message: b is told first.
	e.deliver(e.alice, "INBOX", testMessage(3))
	lines, _ = b.cmd("n", "NOOP", "OK")
	expectLines(t, "b's NOOP", lines, "* 3 EXISTS", "* 1 RECENT")
	lines, _ = a.cmd("n", "NOOP", "OK")
	expectLines(t, "a's NOOP", lines, "* 3 EXISTS") // still 2 recent
	lines, _ = b.cmd("f", "FETCH 3 (FLAGS)", "OK")
	expectLines(t, "b's FETCH", lines, `* 3 FETCH (FLAGS (\Recent))`)
	lines, _ = a.cmd("f", "FETCH 3 (FLAGS)", "OK")
	expectLines(t, "a's FETCH", lines, `* 3 FETCH (FLAGS ())`)

	a.cmd("st", `STORE 1 +FLAGS (\Seen)`, "OK")
	for _, q := range []struct{ key, want string }{
		{"RECENT", "* SEARCH 1 2"}, {"NEW", "* SEARCH 2"}, {"OLD", "* SEARCH 3"}, {"NOT RECENT", "* SEARCH 3"},
	} {
		lines, _ = a.cmd("q", "SEARCH "+q.key, "OK")
		expectLines(t, "SEARCH "+q.key, lines, q.want)
	}
	lines, _ = b.cmd("q", "SEARCH RECENT", "OK")
	expectLines(t, "b's SEARCH RECENT", lines, `* 1 FETCH (UID 1 FLAGS (\Seen))`, "* SEARCH 3")

	// An expunge of a recent message lowers the count the client holds.
	a.cmd("d", `STORE 2 +FLAGS.SILENT (\Deleted)`, "OK")
	lines, _ = a.cmd("e", "EXPUNGE", "OK")
	expectLines(t, "EXPUNGE", lines, "* 2 EXPUNGE", "* 1 RECENT")
	lines, _ = b.cmd("n2", "NOOP", "OK")
	expectLines(t, "b after a's EXPUNGE", lines, "* 2 EXPUNGE") // not recent in b

	// \Recent cannot be set or cleared (RFC 3501 §2.3.2).
	lines, _ = b.cmd("r", `STORE 2 FLAGS (\Recent \Flagged)`, "OK")
	expectLines(t, "STORE \\Recent", lines, `* 2 FETCH (UID 3 FLAGS (\Recent \Flagged))`)
	b.cmd("r2", `STORE 2 -FLAGS (\Recent)`, "OK")
	lines, _ = b.cmd("f", "FETCH 2 (FLAGS)", "OK")
	expectLines(t, "FETCH after -FLAGS \\Recent", lines, `* 2 FETCH (FLAGS (\Recent \Flagged))`)
}

// TestRecentCopyAppend: COPY, MOVE and APPEND make recent messages in
// their target: a session with the target selected sees them \Recent,
// and the next one to select it does not (RFC 3501 §6.4.7). \Recent in
// an APPEND's flags is ignored.
func TestRecentCopyAppend(t *testing.T) {
	t.Parallel()
	e, a, b := twoSessions(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	a.cmd("s", "SELECT INBOX", "OK")
	b.cmd("s", "SELECT Archive", "OK")
	a.cmd("c", "COPY 1 Archive", "OK")
	a.cmd("m", "MOVE 2 Archive", "OK")
	lines, _ := b.cmd("n", "NOOP", "OK")
	expectLines(t, "after COPY and MOVE", lines, "* 2 EXISTS", "* 2 RECENT")
	b.Send("ap " + appendCmd("Archive", `(\Recent \Seen)`, testMessage(3)))
	lines, _ = b.until("ap", "OK")
	expectLines(t, "own APPEND", lines, "* 3 EXISTS", "* 3 RECENT")
	lines, _ = b.cmd("f", "FETCH 1:* (FLAGS)", "OK")
	expectLines(t, "FETCH", lines, `* 1 FETCH (FLAGS (\Recent))`, `* 2 FETCH (FLAGS (\Recent))`,
		`* 3 FETCH (FLAGS (\Recent \Seen))`)
	lines, _ = a.cmd("s2", "SELECT Archive", "OK")
	if !has(lines, "* 0 RECENT") {
		t.Fatalf("a second session on Archive: %q", lines)
	}
	a.Send("ap " + appendCmd("Trash", "", testMessage(4)))
	a.until("ap", "OK")
	lines, _ = a.cmd("st", "STATUS Trash (RECENT)", "OK")
	expectLines(t, "STATUS after APPEND", lines, "* STATUS Trash (RECENT 1)")
}

// TestRecentRev2: an IMAP4rev2 session, whose protocol has no \Recent,
// is shown none (no RECENT response, no flag, SEARCH RECENT finds
// nothing) but claims what it is told of like any session, so an
// IMAP4rev1 session that selects after it finds the messages old.
func TestRecentRev2(t *testing.T) {
	t.Parallel()
	e, a, b := twoSessions(t)
	e.deliver(e.alice, "INBOX", testMessage(1))
	a.cmd("e", "ENABLE IMAP4rev2", "OK")
	lines, _ := a.cmd("s", "SELECT INBOX", "OK")
	if has(lines, "RECENT") {
		t.Fatalf("rev2 SELECT: %q", lines)
	}
	lines, _ = a.cmd("f", "FETCH 1 (FLAGS)", "OK")
	expectLines(t, "rev2 FETCH", lines, `* 1 FETCH (FLAGS ())`)
	lines, _ = a.cmd("q", "SEARCH RECENT", "OK")
	expectLines(t, "rev2 SEARCH RECENT", lines, `* ESEARCH (TAG "q")`)
	lines, _ = b.cmd("s", "SELECT INBOX", "OK")
	if !has(lines, "* 0 RECENT") {
		t.Fatalf("rev1 SELECT after rev2: %q", lines)
	}
}

// TestExpungeOnlyAnnounced: a message that another session appends and
// expunges between two of this session's updates was never announced
// with EXISTS, so it gets no EXPUNGE (nor VANISHED), and the numbers of
// the messages the client knows stay right (RFC 9051 §7.5.1).
func TestExpungeOnlyAnnounced(t *testing.T) {
	t.Parallel()
	for _, qresync := range []bool{false, true} {
		t.Run(fmt.Sprintf("qresync=%v", qresync), func(t *testing.T) {
			t.Parallel()
			e, a, b := twoSessions(t)
			e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
			if qresync {
				a.cmd("e", "ENABLE QRESYNC", "OK")
			}
			a.cmd("s", "SELECT INBOX", "OK")
			b.cmd("s", "SELECT INBOX", "OK")
			e.deliver(e.alice, "INBOX", testMessage(3), testMessage(4)) // UIDs 3, 4
			b.cmd("n", "NOOP", "OK")
			b.cmd("d", `STORE 1,3 +FLAGS.SILENT (\Deleted)`, "OK")
			b.cmd("x", "EXPUNGE", "OK")
			lines, _ := a.cmd("n", "NOOP", "OK")
			if qresync {
				expectLines(t, "NOOP", lines, "* VANISHED 1", "* 2 EXISTS", "* 1 RECENT")
			} else {
				expectLines(t, "NOOP", lines, "* 1 EXPUNGE", "* 2 EXISTS", "* 1 RECENT")
			}
			lines, _ = a.cmd("f", "FETCH 1:* (UID)", "OK")
			expectLines(t, "FETCH", lines, "* 1 FETCH (UID 2)", "* 2 FETCH (UID 4)")

			// Come and gone with nothing else: nothing to say.
			e.deliver(e.alice, "INBOX", testMessage(5))
			b.cmd("n2", "NOOP", "OK")
			b.cmd("d2", `UID STORE 5 +FLAGS.SILENT (\Deleted)`, "OK")
			b.cmd("x2", "EXPUNGE", "OK")
			a.quiet("a message appended and expunged between two NOOPs")
		})
	}
}

// TestExpungeDeferredNewMessage: a message that came and went before a
// FETCH by number (during which no EXPUNGE may be sent) is not
// announced by it either, and no later command expunges it.
func TestExpungeDeferredNewMessage(t *testing.T) {
	t.Parallel()
	e, a, b := twoSessions(t)
	e.deliver(e.alice, "INBOX", testMessage(1))
	a.cmd("s", "SELECT INBOX", "OK")
	b.cmd("s", "SELECT INBOX", "OK")
	e.deliver(e.alice, "INBOX", testMessage(2))
	b.cmd("n", "NOOP", "OK")
	b.cmd("d", `UID STORE 2 +FLAGS.SILENT (\Deleted)`, "OK")
	b.cmd("x", "EXPUNGE", "OK")
	lines, _ := a.cmd("f", "FETCH 1:* (UID)", "OK")
	expectLines(t, "FETCH by number", lines, "* 1 FETCH (UID 1)")
	a.quiet("after the FETCH")
}

// TestFlagsAnnounced: a keyword reaches a FETCH only after a FLAGS
// response (and PERMANENTFLAGS) named it (RFC 3501 §7.2.6): one set by
// another session, by this one, one a COPY brings along, and a keyword
// spelt NIL. FLAGS is sent again only for a keyword it did not name.
func TestFlagsAnnounced(t *testing.T) {
	t.Parallel()
	e, a, b := twoSessions(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	e.deliver(e.alice, "Archive", testMessage(3))
	lines, _ := a.cmd("s", "SELECT INBOX", "OK")
	if !has(lines, `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`) ||
		!has(lines, `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)]`) {
		t.Fatalf("SELECT: %q", lines)
	}
	b.cmd("s", "SELECT INBOX", "OK")
	b.cmd("k", "STORE 1 +FLAGS ($Other)", "OK")
	lines, _ = a.cmd("n", "NOOP", "OK")
	expectLines(t, "another session's keyword", lines,
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Other)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Other \*)] Flags permitted`,
		`* 1 FETCH (UID 1 FLAGS (\Recent $Other))`)

	lines, _ = a.cmd("k", "STORE 2 +FLAGS ($Mine $Other)", "OK")
	expectLines(t, "own keyword", lines,
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Other $Mine)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Other $Mine \*)] Flags permitted`,
		`* 2 FETCH (UID 2 FLAGS (\Recent $Mine $Other))`)
	lines, _ = a.cmd("k2", "STORE 1 +FLAGS ($Mine)", "OK") // named already
	expectLines(t, "a keyword already named", lines, `* 1 FETCH (UID 1 FLAGS (\Recent $Mine $Other))`)

	// A COPY into the selected mailbox, of a message with a keyword
	// this session never saw.
	b.cmd("sa", "SELECT Archive", "OK")
	b.cmd("k3", "STORE 1 +FLAGS.SILENT ($Copied)", "OK")
	b.cmd("c", "COPY 1 INBOX", "OK")
	lines, _ = a.cmd("n2", "NOOP", "OK")
	expectLines(t, "NOOP after the COPY", lines, "* 3 EXISTS", "* 3 RECENT")
	lines, _ = a.cmd("f", "FETCH 3 (UID FLAGS)", "OK")
	expectLines(t, "FETCH of the copy", lines,
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Other $Mine $Copied)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Other $Mine $Copied \*)] Flags permitted`,
		`* 3 FETCH (UID 3 FLAGS (\Recent $Copied))`)

	lines, _ = a.cmd("nil", "STORE 3 FLAGS NIL", "OK") // a keyword, not an empty list
	expectLines(t, "keyword NIL", lines,
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Other $Mine $Copied NIL)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Other $Mine $Copied NIL \*)] Flags permitted`,
		`* 3 FETCH (UID 3 FLAGS (\Recent NIL))`)

	// A new session names every keyword at once; read-only, it may set none.
	c := e.dial(e.start(nil))
	c.login()
	lines, _ = c.cmd("x", "EXAMINE INBOX", "OK")
	if !has(lines, `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Mine $Other NIL)`) || !has(lines, "* OK [PERMANENTFLAGS ()]") {
		t.Fatalf("EXAMINE: %q", lines)
	}
}

// TestLiveSearchAfterAppend: a live SEARCH with a body key finds a
// message APPENDed to the selected mailbox right after the newest
// messages were expunged (RFC 5267 §4.3): the group of imaptest's
// search-context-update.
func TestLiveSearchAfterAppend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.dial(e.start(nil))
	a.login()
	for i := 1; i <= 5; i++ {
		a.Send("ap " + appendCmd("INBOX", "", testMessage(i)))
		a.until("ap", "OK")
	}
	a.cmd("s", "SELECT INBOX", "OK")
	lines, _ := a.cmd("u", "SEARCH RETURN (UPDATE) BODY body SEEN", "OK")
	expectLines(t, "SEARCH", lines, `* ESEARCH (TAG "u")`)
	lines, _ = a.cmd("st", `STORE 3:5 +FLAGS.SILENT (\Deleted \Seen)`, "OK")
	expectLines(t, "STORE", lines, `* ESEARCH (TAG "u") ADDTO (0 3:5)`)
	lines, _ = a.cmd("x", "EXPUNGE", "OK")
	expectLines(t, "EXPUNGE", lines, `* ESEARCH (TAG "u") REMOVEFROM (0 3:5)`,
		"* 5 EXPUNGE", "* 4 EXPUNGE", "* 3 EXPUNGE", "* 2 RECENT")
	a.Send("ap " + appendCmd("INBOX", `(\Seen)`, testMessage(6)))
	lines, _ = a.until("ap", "OK")
	expectLines(t, "APPEND", lines, "* 3 EXISTS", "* 3 RECENT", `* ESEARCH (TAG "u") ADDTO (0 3)`)
	if got := strings.Join(lines, "\n"); strings.Contains(got, "FLAGS") {
		t.Fatalf("no FETCH wanted: %q", got)
	}
}
