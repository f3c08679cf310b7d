package storetest

import (
	"context"
	"regexp"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// objectID is RFC 8474 §4's objectid.
var objectID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// testThreadIDs: a message takes the thread of the account's message its
// In-Reply-To or References names, or a new one; copies and moves keep
// it; every read of a message returns it (RFC 8474 §5.2).
func testThreadIDs(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "threads")
	other := newAccount(t, s, "stranger")
	msg := func(id, inReplyTo, refs string) string {
		h := "From: x@example.org\r\nSubject: s\r\nMessage-ID: <" + id + "@x>\r\n"
		if inReplyTo != "" {
			h += "In-Reply-To: <" + inReplyTo + "@x>\r\n"
		}
		if refs != "" {
			h += "References: " + refs + "\r\n"
		}
		return h + "\r\nbody\r\n"
	}
	deliver := func(acct store.Account, raw string) store.Delivered {
		t.Helper()
		out, errs := s.Deliver(ctx, []store.NewMessage{putBlob(t, s, acct, raw)})
		must(t, errs[0])
		return out[0]
	}
	thread := func(d store.Delivered) string {
		t.Helper()
		ms, err := s.MessagesByUID(ctx, d.MailboxID, []uint32{d.UID}, false)
		must(t, err)
		if len(ms) != 1 || !objectID.MatchString(ms[0].ThreadID) {
			t.Fatalf("message %d: %+v, want a thread ID", d.UID, ms)
		}
		return ms[0].ThreadID
	}
	root := deliver(a, msg("root", "", ""))
	lone := deliver(a, msg("lone", "", ""))
	reply := deliver(a, msg("reply", "root", "<root@x>"))
	deeper := deliver(a, msg("deeper", "", "<root@x> <reply@x>")) // References only
	foreign := deliver(other, msg("foreign", "root", "<root@x>")) // another account's
	tr := thread(root)
	if thread(lone) == tr || thread(reply) != tr || thread(deeper) != tr || thread(foreign) == tr {
		t.Errorf("threads: root %s, lone %s, reply %s, deeper %s, other account %s",
			tr, thread(lone), thread(reply), thread(deeper), thread(foreign))
	}
	// Copies and moves keep the thread, and a reply found through a copy
	// joins it too.
	dst, err := s.CreateMailbox(ctx, a.ID, "Kept", "")
	must(t, err)
	pairs, err := s.CopyMessages(ctx, reply.MailboxID, []uint32{reply.UID}, dst.ID, false)
	must(t, err)
	moved, err := s.CopyMessages(ctx, lone.MailboxID, []uint32{lone.UID}, dst.ID, true)
	must(t, err)
	all, err := s.Messages(ctx, dst.ID, false)
	must(t, err)
	if len(pairs) != 1 || len(moved) != 1 || len(all) != 2 || all[0].ThreadID != tr || all[1].ThreadID == tr || all[1].ThreadID == "" {
		t.Errorf("copied and moved: %+v", all)
	}
	changed, err := s.ChangedSince(ctx, dst.ID, 0)
	must(t, err)
	if len(changed) != 2 || changed[0].ThreadID != tr {
		t.Errorf("ChangedSince: %+v", changed)
	}
	if ks, ok := s.(store.KeySource); ok {
		keys, err := ks.MessageKeys(ctx, root.MailboxID, false)
		must(t, err)
		if len(keys) != 3 || keys[0].ThreadID != tr || keys[2].ThreadID != tr {
			t.Errorf("MessageKeys: %+v", keys)
		}
	}
	// A thread ID given with the message is kept.
	m := putBlob(t, s, a, msg("given", "", ""))
	m.ThreadID = "Tgiven"
	out, errs := s.Deliver(ctx, []store.NewMessage{m})
	must(t, errs[0])
	if got := thread(out[0]); got != "Tgiven" {
		t.Errorf("given thread ID: %s", got)
	}
}
