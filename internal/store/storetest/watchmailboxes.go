package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

// testWatchMailboxes: Watch wakes an account's watchers when one of its
// mailboxes is created, renamed (each mailbox renamed, inferiors
// included), subscribed, unsubscribed or deleted, with that mailbox's ID:
// IMAP NOTIFY reports those changes (RFC 5465 §5.4, §5.5).
func testWatchMailboxes(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "wm")
	wake, stop := s.Watch(a.ID)
	defer stop()
	want := func(what string, ids ...int64) {
		t.Helper()
		var got []int64
		deadline := time.After(5 * time.Second)
		for len(got) < len(ids) {
			select {
			case id := <-wake:
				if !slices.Contains(got, id) {
					got = append(got, id)
				}
			case <-deadline:
				t.Fatalf("%s: woken for %v, want %v", what, got, ids)
			}
		}
		slices.Sort(got)
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			t.Fatalf("%s: woken for %v, want %v", what, got, ids)
		}
	}
	parent, err := s.CreateMailbox(ctx, a.ID, "p", "")
	must(t, err)
	want("create", parent.ID)
	child, err := s.CreateMailbox(ctx, a.ID, "p/c", "")
	must(t, err)
	want("create child", child.ID)
	must(t, s.RenameMailbox(ctx, a.ID, "p", "q"))
	want("rename", parent.ID, child.ID)
	must(t, s.SetSubscribed(ctx, a.ID, "q/c", false))
	want("unsubscribe", child.ID)
	must(t, s.SetSubscribed(ctx, a.ID, "q/c", true))
	want("subscribe", child.ID)
	must(t, s.DeleteMailbox(ctx, a.ID, "q/c"))
	want("delete", child.ID)
	select {
	case id := <-wake:
		t.Fatalf("woken for %d after the last change", id)
	default:
	}
}
