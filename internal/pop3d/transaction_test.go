package pop3d

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStatListUidl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m1, m2 := msg("one"), msg("two!")
	u1, u2 := e.deliver("alice@example.test", m1), e.deliver("alice@example.test", m2)
	box, _ := e.mailbox("alice@example.test", "INBOX")
	c := e.login(e.serve(), "alice@example.test")
	c.expect("STAT", fmt.Sprintf("+OK 2 %d", len(m1)+len(m2)))
	if got, want := c.multi("LIST"), []string{fmt.Sprintf("1 %d", len(m1)), fmt.Sprintf("2 %d", len(m2))}; !slices.Equal(got, want) {
		t.Fatalf("LIST %q, want %q", got, want)
	}
	c.expect("LIST 2", fmt.Sprintf("+OK 2 %d", len(m2)))
	uid1, uid2 := fmt.Sprintf("%d.%d", box.UIDValidity, u1), fmt.Sprintf("%d.%d", box.UIDValidity, u2)
	if got, want := c.multi("UIDL"), []string{"1 " + uid1, "2 " + uid2}; !slices.Equal(got, want) {
		t.Fatalf("UIDL %q, want %q", got, want)
	}
	c.expect("UIDL 1", "+OK 1 "+uid1)
	for _, bad := range []string{"LIST 3", "LIST 0", "LIST x", "UIDL -1", "RETR 9", "DELE", "TOP 1", "TOP 1 -2"} {
		c.expect(bad, "-ERR")
	}
}

func TestDeleRsetQuit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 3 {
		e.deliver("alice@example.test", msg(fmt.Sprint(i)))
	}
	addr := e.serve()
	c := e.login(addr, "alice@example.test")
	c.expect("DELE 2", "+OK")
	c.expect("DELE 2", "-ERR Message already deleted")
	c.expect("RETR 2", "-ERR")
	c.expect("LIST 2", "-ERR")
	c.expect("STAT", "+OK 2 ")
	if got := c.multi("UIDL"); len(got) != 2 || !strings.HasPrefix(got[1], "3 ") {
		t.Fatalf("UIDL after DELE: %q", got)
	}
	c.expect("RSET", "+OK Maildrop has 3 messages")
	c.ok("RETR 2")
	c.body()
	c.ok("DELE 1")
	c.ok("DELE 3")
	c.ok("QUIT")
	box, msgs := e.mailbox("alice@example.test", "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("after QUIT: %d messages, want 1", len(msgs))
	}
	// The next session numbers the remaining message 1 with the same UIDL.
	c = e.login(addr, "alice@example.test")
	c.expect("STAT", "+OK 1 ")
	c.expect("UIDL 1", fmt.Sprintf("+OK 1 %d.%d", box.UIDValidity, msgs[0].UID))
}

// There is no IMAP server yet: what an IMAP session would see is asserted
// at the store level. POP3's deletion is one change, above the previous
// HIGHESTMODSEQ, reported by Vanished (what QRESYNC sends) and gone from
// Messages.
func TestDeletionSeenAsExpungeByOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var uids []uint32
	for i := range 4 {
		uids = append(uids, e.deliver("alice@example.test", msg(fmt.Sprint(i))))
	}
	before, _ := e.mailbox("alice@example.test", "INBOX")
	c := e.login(e.serve(), "alice@example.test")
	c.ok("DELE 1")
	c.ok("DELE 3")
	// Marks are not applied before QUIT.
	if _, msgs := e.mailbox("alice@example.test", "INBOX"); len(msgs) != 4 {
		t.Fatalf("DELE removed a message before QUIT: %d left", len(msgs))
	}
	c.ok("QUIT")
	after, msgs := e.mailbox("alice@example.test", "INBOX")
	var left []uint32
	for _, m := range msgs {
		left = append(left, m.UID)
	}
	if !slices.Equal(left, []uint32{uids[1], uids[3]}) {
		t.Fatalf("left %v", left)
	}
	gone, err := e.store.Vanished(context.Background(), before.ID, before.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gone, []uint32{uids[0], uids[2]}) {
		t.Fatalf("Vanished since %d: %v", before.HighestModSeq, gone)
	}
	if after.HighestModSeq != before.HighestModSeq+1 {
		t.Fatalf("HIGHESTMODSEQ %d → %d: not one change", before.HighestModSeq, after.HighestModSeq)
	}
}

func TestDroppedConnectionRemovesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver("alice@example.test", msg("one"))
	srv, addr := e.start(func(o *Options) { o.PlaintextNetworks = loopback })
	c := e.login(addr, "alice@example.test")
	c.ok("DELE 1")
	c.Raw().Close()
	srv.Close() // waits for the session to end
	if _, msgs := e.mailbox("alice@example.test", "INBOX"); len(msgs) != 1 {
		t.Fatalf("dropped connection removed messages: %d left", len(msgs))
	}
	c = e.login(e.serve(), "alice@example.test") // and the lock is released
	c.expect("STAT", "+OK 1 ")
}

func TestDeleteModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []DeleteMode{DeleteTrash, DeleteHide} {
		e := newEnv(t)
		keep := e.deliver("alice@example.test", msg("keep"))
		del := e.deliver("alice@example.test", msg("delete"))
		_, addr := e.start(func(o *Options) { o.PlaintextNetworks, o.Delete = loopback, mode })
		c := e.login(addr, "alice@example.test")
		c.ok("DELE 2")
		c.ok("QUIT")
		_, inbox := e.mailbox("alice@example.test", "INBOX")
		_, trash := e.mailbox("alice@example.test", "Trash")
		switch mode {
		case DeleteTrash:
			if len(inbox) != 1 || inbox[0].UID != keep || len(trash) != 1 {
				t.Fatalf("trash: INBOX %v, Trash %v", inbox, trash)
			}
		case DeleteHide:
			if len(inbox) != 2 || !slices.Contains(inbox[1].Flags, HiddenKeyword) || inbox[1].UID != del || len(trash) != 0 {
				t.Fatalf("hide: INBOX %v", inbox)
			}
		}
		c = e.login(addr, "alice@example.test")
		c.expect("STAT", "+OK 1 ")
		c.ok("QUIT")
	}
}

// Commands sent in one write get their replies in order (RFC 2449 §6.6).
func TestPipelining(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver("alice@example.test", msg("one"))
	e.deliver("alice@example.test", msg("two"))
	c := e.dial(e.serve())
	c.Send("USER alice@example.test\r\nPASS " + password + "\r\nSTAT\r\nRETR 1\r\nRETR 2\r\nNOOP\r\nQUIT")
	c.ok("")
	c.ok("")
	c.expect("", "+OK 2 ")
	for range 2 {
		c.ok("")
		if b := c.body(); !slices.Contains(b, "Hello.") {
			t.Fatalf("RETR body %q", b)
		}
	}
	c.ok("")
	c.ok("")
	c.Raw().SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Raw().Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after QUIT: read %d, %v; want EOF", n, err)
	}
}
