package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

// mailboxTests are the rules of the mailbox operations IMAP needs
// (MessageStates, DeleteMailbox, RenameMailbox, SetSubscribed,
// ClaimRecent); Run runs
// them with the others.
var mailboxTests = []struct {
	name string
	fn   func(*testing.T, store.Store)
}{
	{"MessageStates", testMessageStates},
	{"DeleteMailbox", testDeleteMailbox},
	{"RenameMailbox", testRenameMailbox},
	{"Subscriptions", testSubscriptions},
	{"SubscriptionNames", testSubscriptionNames},
	{"SetFlagsUnchangedSince", testUnchangedSince},
	{"Recent", testRecent},
	{"RecentConcurrentClaims", testRecentConcurrent},
}

func mailboxNames(t *testing.T, s store.Store, a store.Account) []string {
	t.Helper()
	mbs, err := s.ListMailboxes(context.Background(), a.ID)
	must(t, err)
	var out []string
	for _, m := range mbs {
		out = append(out, m.Name)
	}
	return out
}

func deliverTo(t *testing.T, s store.Store, a store.Account, mailbox string, n int, flags ...string) []store.Delivered {
	t.Helper()
	var msgs []store.NewMessage
	for i := range n {
		m := putBlob(t, s, a, testMessage(i))
		m.Mailbox, m.Flags = mailbox, flags
		msgs = append(msgs, m)
	}
	out, errs := s.Deliver(context.Background(), msgs)
	for _, err := range errs {
		must(t, err)
	}
	return out
}

func testMessageStates(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "states")
	d := deliverTo(t, s, a, "INBOX", 3, `\Seen`)
	deliverTo(t, s, a, "INBOX", 1)
	_, err := s.SetFlags(ctx, d[0].MailboxID, []uint32{2}, []string{`\Flagged`}, 1)
	must(t, err)
	mb, states, err := s.MessageStates(ctx, d[0].MailboxID)
	must(t, err)
	if mb.Name != "INBOX" || mb.UIDNext != 5 || len(states) != 4 {
		t.Fatalf("MessageStates: %+v, %d states", mb, len(states))
	}
	if !slices.Equal(states[0].Flags, []string{`\Seen`}) || !slices.Equal(states[1].Flags, []string{`\Flagged`, `\Seen`}) ||
		len(states[3].Flags) != 0 || states[3].UID != 4 {
		t.Fatalf("states %+v", states)
	}
	var top uint64
	for _, st := range states {
		top = max(top, st.ModSeq)
	}
	if top != mb.HighestModSeq {
		t.Fatalf("highest modseq %d, messages up to %d", mb.HighestModSeq, top)
	}
	msgs, err := s.Messages(ctx, d[0].MailboxID, false)
	must(t, err)
	if msgs[0].SaveDate.IsZero() || time.Since(msgs[0].SaveDate) > time.Hour {
		t.Fatalf("SaveDate %v", msgs[0].SaveDate)
	}
	if _, _, err := s.MessageStates(ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown mailbox: %v", err)
	}
}

func testDeleteMailbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "del")
	_, err := s.CreateMailbox(ctx, a.ID, "Old", "")
	must(t, err)
	deliverTo(t, s, a, "Old", 2)
	before, _ := s.LookupAccount(ctx, a.Address)
	if before.UsedBytes == 0 {
		t.Fatal("no quota used")
	}
	must(t, s.DeleteMailbox(ctx, a.ID, "Old"))
	after, _ := s.LookupAccount(ctx, a.Address)
	if after.UsedBytes != 0 {
		t.Fatalf("used bytes after delete: %d", after.UsedBytes)
	}
	if _, err := s.GetMailbox(ctx, a.ID, "Old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted mailbox: %v", err)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "Old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "inbox"); err == nil {
		t.Fatal("INBOX deleted")
	}
	// Re-created under the same name: a new UIDVALIDITY, UIDs from 1.
	mb, err := s.CreateMailbox(ctx, a.ID, "Old", "")
	must(t, err)
	if mb.UIDNext != 1 || mb.Messages != 0 {
		t.Fatalf("re-created %+v", mb)
	}
	testDeleteParent(t, s, a)
}

// testDeleteParent: deleting a mailbox leaves the mailboxes below it
// (RFC 3501 §6.3.4), and the parent created again is a new mailbox.
func testDeleteParent(t *testing.T, s store.Store, a store.Account) {
	ctx := context.Background()
	for _, n := range []string{"Parent", "Parent/Child", "Parent/Child/Leaf"} {
		_, err := s.CreateMailbox(ctx, a.ID, n, "")
		must(t, err)
	}
	deliverTo(t, s, a, "Parent", 1)
	deliverTo(t, s, a, "Parent/Child", 2)
	old, err := s.GetMailbox(ctx, a.ID, "Parent")
	must(t, err)
	must(t, s.DeleteMailbox(ctx, a.ID, "Parent"))
	names := mailboxNames(t, s, a)
	if slices.Contains(names, "Parent") || !slices.Contains(names, "Parent/Child") || !slices.Contains(names, "Parent/Child/Leaf") {
		t.Fatalf("after deleting the parent: %v", names)
	}
	if child, _ := s.GetMailbox(ctx, a.ID, "Parent/Child"); child.Messages != 2 {
		t.Fatalf("child after deleting the parent: %+v", child)
	}
	mb, err := s.CreateMailbox(ctx, a.ID, "Parent", "")
	must(t, err)
	if mb.ID == old.ID || mb.UIDValidity == old.UIDValidity || mb.Messages != 0 {
		t.Fatalf("parent created again %+v, was %+v", mb, old)
	}
}

func testRenameMailbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "ren")
	for _, n := range []string{"Work", "Work/2025", "Work/2025/Q1", "Workshop"} {
		_, err := s.CreateMailbox(ctx, a.ID, n, "")
		must(t, err)
	}
	deliverTo(t, s, a, "Work/2025", 2)
	old, _ := s.GetMailbox(ctx, a.ID, "Work/2025")
	must(t, s.RenameMailbox(ctx, a.ID, "Work", "Été/Job"))
	names := mailboxNames(t, s, a)
	for _, want := range []string{"Été/Job", "Été/Job/2025", "Été/Job/2025/Q1", "Workshop"} {
		if !slices.Contains(names, want) {
			t.Fatalf("after rename: %v, missing %s", names, want)
		}
	}
	if slices.Contains(names, "Work") {
		t.Fatalf("old name kept: %v", names)
	}
	got, err := s.GetMailbox(ctx, a.ID, "Été/Job/2025")
	must(t, err)
	if got.ID != old.ID || got.UIDValidity != old.UIDValidity || got.Messages != 2 {
		t.Fatalf("renamed %+v, was %+v", got, old)
	}
	if err := s.RenameMailbox(ctx, a.ID, "Workshop", "Été/Job"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("rename onto existing: %v", err)
	}
	if err := s.RenameMailbox(ctx, a.ID, "Nope", "Other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rename missing: %v", err)
	}
	// A name with only mailboxes under it: they are renamed.
	must(t, s.DeleteMailbox(ctx, a.ID, "Été/Job"))
	must(t, s.RenameMailbox(ctx, a.ID, "Été/Job", "Later"))
	names = mailboxNames(t, s, a)
	if !slices.Contains(names, "Later/2025/Q1") || slices.Contains(names, "Later") || slices.Contains(names, "Été/Job/2025") {
		t.Fatalf("after renaming a name without a mailbox: %v", names)
	}
}

func testSubscriptions(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "sub")
	must(t, s.SetSubscribed(ctx, a.ID, "Sent", false))
	mb, _ := s.GetMailbox(ctx, a.ID, "Sent")
	if mb.Subscribed {
		t.Fatal("still subscribed")
	}
	must(t, s.SetSubscribed(ctx, a.ID, "Sent", true))
	mb, _ = s.GetMailbox(ctx, a.ID, "Sent")
	if !mb.Subscribed {
		t.Fatal("not subscribed")
	}
}

func testUnchangedSince(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "cond")
	d := deliverTo(t, s, a, "INBOX", 2)
	mb := d[0].MailboxID
	before := d[1].ModSeq
	_, err := s.SetFlags(ctx, mb, []uint32{2}, []string{`\Seen`}, 1)
	must(t, err)
	_, modified, err := s.SetFlagsUnchangedSince(ctx, mb, []uint32{1, 2}, []string{`\Flagged`}, 1, before)
	must(t, err)
	if !slices.Equal(modified, []uint32{2}) {
		t.Fatalf("modified %v, want [2]", modified)
	}
	msgs, _ := s.Messages(ctx, mb, false)
	if !slices.Equal(msgs[0].Flags, []string{`\Flagged`}) || slices.Contains(msgs[1].Flags, `\Flagged`) {
		t.Fatalf("flags %v %v", msgs[0].Flags, msgs[1].Flags)
	}
}
