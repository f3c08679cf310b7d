package imapd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/testutil"
)

// expect reads lines the server pushes, with no command in progress,
// until one starts with want; other lines are returned with it.
func (c *conn) expect(want string) []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.Line()
		lines = append(lines, l)
		if strings.HasPrefix(l, want) {
			return lines
		}
		if len(lines) > 50 {
			c.t.Fatalf("no %q in %q", want, lines)
		}
	}
}

// twoSessions starts a server and logs two sessions of alice in.
func twoSessions(t *testing.T) (*env, *conn, *conn) {
	e := newEnv(t)
	addr := e.start(nil)
	a, b := e.dial(addr), e.dial(addr)
	a.login()
	b.login()
	return e, a, b
}

// quiet checks that nothing was pushed: two NOOPs in a row answer with
// their tagged line alone.
func (c *conn) quiet(what string) {
	c.t.Helper()
	for _, tag := range []string{"q1", "q2"} {
		if lines, _ := c.cmd(tag, "NOOP", "OK"); len(lines) > 0 {
			c.t.Fatalf("%s: pushed %q", what, lines)
		}
	}
}

// TestNotifyPushesWithoutPolling: client A sets NOTIFY for the selected
// INBOX, Archive and mailbox events; while A sends nothing (no IDLE), B
// and deliveries change things and A reads each change as it happens
// (RFC 5465 §5). NOTIFY NONE stops them.
func TestNotifyPushesWithoutPolling(t *testing.T) {
	t.Parallel()
	e, a, b := twoSessions(t)
	lines, _ := a.cmd("c", "CAPABILITY", "OK")
	if !has(lines, " NOTIFY") {
		t.Fatalf("CAPABILITY %q", lines)
	}
	a.cmd("s", "SELECT INBOX", "OK")
	archive, err := e.store.GetMailbox(context.Background(), e.alice.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	lines, _ = a.cmd("n", "NOTIFY SET STATUS (SELECTED (MessageNew (FLAGS) MessageExpunge FlagChange)) "+
		"(MAILBOXES Archive (MessageNew MessageExpunge FlagChange)) (PERSONAL (MailboxName SubscriptionChange))", "OK")
	// §3.1: STATUS for the mailboxes with message events, not the selected one.
	// FlagChange: with HIGHESTMODSEQ, which does not turn CONDSTORE on
	// (the FETCH responses below carry no MODSEQ).
	want := fmt.Sprintf("* STATUS Archive (MESSAGES 0 UIDNEXT 1 UIDVALIDITY %d UNSEEN 0 HIGHESTMODSEQ %d)",
		archive.UIDValidity, archive.HighestModSeq)
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("NOTIFY SET STATUS: %q, want %q", lines, want)
	}

	e.deliver(e.alice, "INBOX", testMessage(1))
	if l := a.expect("* 1 EXISTS"); len(l) != 1 {
		t.Fatalf("before EXISTS: %q", l)
	}
	if l := a.Line(); l != "* 1 RECENT" { // A is the first session told of it
		t.Fatalf("after EXISTS: %q", l)
	}
	if l := a.Line(); l != `* 1 FETCH (UID 1 FLAGS (\Recent))` { // MessageNew's attributes
		t.Fatalf("after RECENT: %q", l)
	}
	b.cmd("b1", "SELECT INBOX", "OK")
	b.cmd("b2", `STORE 1 +FLAGS (\Flagged)`, "OK")
	if l := a.Line(); l != `* 1 FETCH (UID 1 FLAGS (\Recent \Flagged))` {
		t.Fatalf("flag change: %q", l)
	}

	e.deliver(e.alice, "Archive", testMessage(2))
	archive, _ = e.store.GetMailbox(context.Background(), e.alice.ID, "Archive")
	want = fmt.Sprintf("* STATUS Archive (MESSAGES 1 UIDNEXT 2 UIDVALIDITY %d UNSEEN 1 HIGHESTMODSEQ %d)",
		archive.UIDValidity, archive.HighestModSeq)
	if l := a.Line(); l != want {
		t.Fatalf("delivery to Archive: %q, want %q", l, want)
	}
	b.cmd("b3", "SELECT Archive", "OK")
	b.cmd("b4", `STORE 1 +FLAGS (\Seen)`, "OK")
	if l := a.Line(); !strings.Contains(l, "UNSEEN 0 HIGHESTMODSEQ ") {
		t.Fatalf("flag change in Archive: %q", l)
	}

	b.cmd("b5", "CREATE Projects", "OK")
	if l := a.Line(); l != `* LIST (\HasNoChildren) "/" Projects` {
		t.Fatalf("CREATE: %q", l)
	}
	b.cmd("b5b", "CREATE Projects/2026", "OK")
	if l := a.Line(); l != `* LIST (\HasNoChildren) "/" Projects/2026` {
		t.Fatalf("CREATE child: %q", l)
	}
	b.cmd("b6", "RENAME Projects Done", "OK") // §5.4: each mailbox renamed
	if l := a.Line(); l != `* LIST (\HasChildren) "/" Done ("OLDNAME" (Projects))` {
		t.Fatalf("RENAME: %q", l)
	}
	if l := a.Line(); l != `* LIST (\HasNoChildren) "/" Done/2026 ("OLDNAME" (Projects/2026))` {
		t.Fatalf("RENAME child: %q", l)
	}
	b.cmd("b6b", "DELETE Done/2026", "OK")
	if l := a.Line(); l != `* LIST (\NonExistent) "/" Done/2026` {
		t.Fatalf("DELETE child: %q", l)
	}
	b.cmd("b7", "SUBSCRIBE Done", "OK")
	if l := a.Line(); l != `* LIST (\HasNoChildren \Subscribed) "/" Done` {
		t.Fatalf("SUBSCRIBE: %q", l)
	}
	b.cmd("b8", "DELETE Done", "OK")
	if l := a.Line(); l != `* LIST (\NonExistent) "/" Done` {
		t.Fatalf("DELETE: %q", l)
	}

	b.cmd("b9", "SELECT INBOX", "OK")
	b.cmd("b10", `STORE 1 +FLAGS.SILENT (\Deleted)`, "OK")
	if l := a.Line(); l != `* 1 FETCH (UID 1 FLAGS (\Recent \Deleted \Flagged))` {
		t.Fatalf("\\Deleted: %q", l)
	}
	b.cmd("b11", "EXPUNGE", "OK")
	if l := a.Line(); l != "* 1 EXPUNGE" { // SELECTED: at once, between commands
		t.Fatalf("EXPUNGE: %q", l)
	}
	if l := a.Line(); l != "* 0 RECENT" {
		t.Fatalf("after EXPUNGE: %q", l)
	}

	// §5.2: no FETCH for a message A appends itself.
	a.Send("ap APPEND INBOX {" + fmt.Sprint(len(testMessage(9))) + "+}\r\n" + testMessage(9))
	if lines, _ := a.until("ap", "OK"); strings.Join(lines, "\n") != "* 1 EXISTS\n* 1 RECENT" {
		t.Fatalf("own APPEND: %q", lines)
	}
	a.cmd("n2", "NOTIFY NONE", "OK")
	e.deliver(e.alice, "Archive", testMessage(3))
	b.cmd("b12", "CREATE Other", "OK")
	a.quiet("after NOTIFY NONE")
}

// TestNotifyInIdle: in IDLE, a session with NOTIFY sends the events it
// asked for, other mailboxes' STATUS included (RFC 5465 §4), and under
// CONDSTORE the STATUS carries HIGHESTMODSEQ (§5.2).
func TestNotifyInIdle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.dial(e.start(nil))
	a.login()
	a.cmd("e", "ENABLE CONDSTORE", "OK")
	a.cmd("n", "NOTIFY SET (SUBTREE Archive (MessageNew MessageExpunge))", "OK")
	a.Send("i IDLE")
	if l := a.Line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	e.deliver(e.alice, "Archive", testMessage(1))
	mb, _ := e.store.GetMailbox(context.Background(), e.alice.ID, "Archive")
	want := fmt.Sprintf("* STATUS Archive (MESSAGES 1 UIDNEXT 2 UIDVALIDITY %d UNSEEN 1 HIGHESTMODSEQ %d)", mb.UIDValidity, mb.HighestModSeq)
	if l := a.Line(); l != want {
		t.Fatalf("in IDLE: %q, want %q", l, want)
	}
	e.deliver(e.alice, "INBOX", testMessage(2)) // not asked for
	a.Send("DONE")
	a.until("i", "OK")
}

// TestNotifySelectedDelayed: with SELECTED-DELAYED, new messages are
// pushed at once, expunges only with a command that allows them (RFC
// 5465 §6.1.2), and not with FETCH by sequence number (RFC 9051 §7.5.1).
func TestNotifySelectedDelayed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	a := e.dial(e.start(nil))
	a.login()
	a.cmd("s", "SELECT INBOX", "OK")
	a.cmd("n", "NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge))", "OK")
	if _, err := e.store.Expunge(context.Background(), d[0].MailboxID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	e.deliver(e.alice, "INBOX", testMessage(3))
	if l := a.Line(); l != "* 3 EXISTS" {
		t.Fatalf("pushed %q, want EXISTS and no EXPUNGE", l)
	}
	lines, _ := a.cmd("f", "FETCH 2 (UID)", "OK")
	if has(lines, "EXPUNGE") {
		t.Fatalf("EXPUNGE during FETCH: %q", lines)
	}
	lines, _ = a.cmd("o", "NOOP", "OK")
	if !has(lines, "* 1 EXPUNGE") {
		t.Fatalf("NOOP: %q", lines)
	}
}

// TestNotifyErrors: unsupported events are refused with NO [BADEVENT]
// listing the supported ones (RFC 5465 §3.1); malformed event groups
// with BAD (§5, §6.1).
func TestNotifyErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.dial(e.start(nil))
	a.login()
	const badEvent = "NO [BADEVENT (MessageNew MessageExpunge FlagChange AnnotationChange MailboxName SubscriptionChange)]"
	a.cmd("1", "NOTIFY SET (PERSONAL (MailboxMetadataChange))", badEvent)
	a.cmd("2", "NOTIFY SET (INBOXES (MessageNew MessageExpunge ServerMetadataChange))", badEvent)
	a.cmd("3", "NOTIFY SET (SUBSCRIBED (MessageNew MessageExpunge Gossip))", badEvent)
	for i, args := range []string{
		"(SELECTED (MessageNew))",
		"(SELECTED (FlagChange))",
		"(SELECTED-DELAYED (MessageExpunge))",
		"(SELECTED (MessageNew MessageExpunge)) (SELECTED-DELAYED (MessageNew MessageExpunge))",
		"(SELECTED (MailboxName))",
		"(SELECTED NONE) (SELECTED-DELAYED NONE)",
		"(PERSONAL (MessageNew (UID) MessageExpunge))",
		"(PERSONAL ())",
		"(EVERYWHERE (MessageNew MessageExpunge))",
		"(MAILBOXES () (MailboxName))",
		"STATUS",
	} {
		if lines, _ := a.cmd(fmt.Sprint("b", i), "NOTIFY SET "+args, "BAD"); len(lines) > 0 {
			t.Errorf("NOTIFY SET %s: %q", args, lines)
		}
		a.cmd(fmt.Sprint("n", i), "NOOP", "OK") // under connsrv.MaxStrikes BADs in a row
	}
	// Outside SELECTED an event alone is allowed, as in Dovecot, and the
	// initial STATUS carries at least the items it touches (§5.1;
	// imaptest's notify group).
	for i, c := range []struct{ args, items string }{
		{"STATUS (MAILBOXES Archive (MessageExpunge))", "MESSAGES"},
		{"STATUS (MAILBOXES Archive (MessageNew))", "MESSAGES UIDNEXT UIDVALIDITY"},
		{"STATUS (MAILBOXES Archive (FlagChange))", "UIDVALIDITY HIGHESTMODSEQ"},
		{"(PERSONAL (MessageExpunge AnnotationChange))", ""},
	} {
		lines, _ := a.cmd(fmt.Sprint("s", i), "NOTIFY SET "+c.args, "OK")
		if c.items == "" {
			continue
		}
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "* STATUS Archive (") {
			t.Errorf("NOTIFY SET %s: %q", c.args, lines)
			continue
		}
		for _, item := range strings.Fields(c.items) {
			if !strings.Contains(lines[0], " "+item+" ") && !strings.Contains(lines[0], "("+item+" ") {
				t.Errorf("NOTIFY SET %s: %q lacks %s", c.args, lines, item)
			}
		}
	}
	a.cmd("4", "NOTIFY MAYBE", "BAD")
	a.cmd("5", "NOTIFY SET (SELECTED (MessageNew (UID ENVELOPE) MessageExpunge AnnotationChange)) (MAILBOXES (INBOX Sent) NONE)", "OK")
	a.cmd("6", "NOTIFY NONE", "OK")
}

// TestNotifyOverflow: a client that sends nothing while more
// notifications than Options.NotifyOverflow pile up gets an untagged OK
// [NOTIFICATIONOVERFLOW], and NOTIFY is off (RFC 5465 §5.8).
func TestNotifyOverflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.dial(e.start(func(o *Options) { o.NotifyOverflow = 2 }))
	a.login()
	a.cmd("n", "NOTIFY SET (MAILBOXES Archive (MessageNew MessageExpunge))", "OK")
	for i := 1; i <= 3; i++ {
		e.deliver(e.alice, "Archive", testMessage(i))
		if l := a.Line(); !strings.HasPrefix(l, fmt.Sprintf("* STATUS Archive (MESSAGES %d ", i)) {
			t.Fatalf("delivery %d: %q", i, l)
		}
	}
	if l := a.Line(); !strings.HasPrefix(l, "* OK [NOTIFICATIONOVERFLOW]") {
		t.Fatalf("after 3 notifications: %q", l)
	}
	e.deliver(e.alice, "Archive", testMessage(4))
	a.quiet("after NOTIFICATIONOVERFLOW")
}

// TestNotifyQresync: under QRESYNC an expunge in the selected mailbox is
// pushed as VANISHED, and a flag change elsewhere that moves only
// HIGHESTMODSEQ is a STATUS with it (RFC 5465 §5.1, §5.3).
func TestNotifyQresync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	d := e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	arch := e.deliver(e.alice, "Archive", testMessage(3))
	a := e.dial(e.start(nil))
	a.login()
	a.cmd("e", "ENABLE QRESYNC", "OK")
	a.cmd("s", "SELECT INBOX", "OK")
	a.cmd("n", "NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge FlagChange))", "OK")
	if _, err := e.store.Expunge(ctx, d[0].MailboxID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	if l := a.Line(); l != "* VANISHED 1" {
		t.Fatalf("expunge: %q", l)
	}
	if l := a.Line(); l != "* 1 RECENT" { // the expunged message was recent here
		t.Fatalf("after VANISHED: %q", l)
	}
	ms, err := e.store.SetFlags(ctx, arch[0].MailboxID, []uint32{1}, []string{"$Label"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if l := a.Line(); !strings.HasPrefix(l, "* STATUS Archive (MESSAGES 1 ") || !strings.HasSuffix(l, fmt.Sprintf(" UNSEEN 1 HIGHESTMODSEQ %d)", ms)) {
		t.Fatalf("flag change in Archive: %q", l)
	}
}

// TestNotifyContextUpdateFetch: with NOTIFY, a live search's UPDATE may
// carry fetch attributes, sent as a FETCH of each message the search
// adds, after the EXISTS and before the ESEARCH ADDTO (RFC 5465 §7).
func TestNotifyContextUpdateFetch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1))
	a := e.dial(e.start(nil))
	a.login()
	a.cmd("s", "SELECT INBOX", "OK")
	a.cmd("u", "UID SEARCH RETURN (UPDATE (FLAGS)) SUBJECT message", "OK")
	e.deliver(e.alice, "INBOX", testMessage(2))
	lines, _ := a.cmd("n", "NOOP", "OK")
	want := []string{"* 2 EXISTS", "* 2 RECENT", `* 2 FETCH (UID 2 FLAGS (\Recent))`, `* ESEARCH (TAG "u") UID ADDTO (0 2)`}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("NOOP after a delivery: %q, want %q", lines, want)
	}
	a.cmd("b", "UID SEARCH RETURN (UPDATE (FLAGS) ALL", "BAD")
}

// TestNotifyOwnChanges: the mailboxes a session creates, renames,
// (un)subscribes and deletes itself are not reported back to it (RFC
// 5465 §5), while another client's are.
func TestNotifyOwnChanges(t *testing.T) {
	t.Parallel()
	_, a, b := twoSessions(t)
	a.cmd("n", "NOTIFY SET (PERSONAL (MailboxName SubscriptionChange))", "OK")
	for i, command := range []string{"CREATE Mine/Sub", "RENAME Mine Yours", "UNSUBSCRIBE Yours", "SUBSCRIBE Yours",
		"DELETE Yours/Sub", "DELETE Yours"} {
		if lines, _ := a.cmd(fmt.Sprint("o", i), command, "OK"); len(lines) > 0 {
			t.Fatalf("%s: %q", command, lines)
		}
	}
	a.quiet("after its own changes")
	b.cmd("b", "CREATE Theirs", "OK")
	if l := a.Line(); l != `* LIST (\HasNoChildren) "/" Theirs` {
		t.Fatalf("another client's CREATE: %q", l)
	}
}

// TestNotifyShutdown: a session waiting between commands with NOTIFY on
// gets BYE when the server shuts down, without the grace period.
func TestNotifyShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := New(Options{Store: e.store, Auth: e.auth, PlaintextNetworks: loopback})
	l := testutil.Listen(t)
	go srv.Serve(l)
	a := e.dial(l.Addr().String())
	a.login()
	a.cmd("n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))", "OK")
	e.deliver(e.alice, "Archive", testMessage(1))
	a.expect("* STATUS Archive ") // waiting for the client, between commands
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if l := a.Line(); !strings.HasPrefix(l, "* BYE ") {
		t.Fatalf("after Shutdown: %q", l)
	}
}
