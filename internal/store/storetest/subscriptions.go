package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// testSubscriptionNames: subscriptions are names (RFC 9051 §6.3.7): one
// may name no mailbox, and survives its mailbox's deletion; RENAME
// carries them along. The default mailboxes are subscribed; CreateMailbox
// subscribes nothing (subscribing is the client's SUBSCRIBE).
func testSubscriptionNames(t *testing.T, s store.Store) {
	sl, ok := s.(store.SubscriptionLister)
	if !ok {
		t.Skip("no store.SubscriptionLister")
	}
	ctx := context.Background()
	a := newAccount(t, s, "subnames")
	other := newAccount(t, s, "subother")
	names := func(acct store.Account) []string {
		t.Helper()
		n, err := sl.Subscriptions(ctx, acct.ID)
		must(t, err)
		return n
	}
	initial := names(a)
	if !slices.Contains(initial, "INBOX") {
		t.Fatalf("a new account's mailboxes are not subscribed: %q", initial)
	}
	must(t, s.SetSubscribed(ctx, a.ID, "Future/Box", true)) // no such mailbox
	must(t, s.SetSubscribed(ctx, a.ID, "Future/Box", true)) // twice is once
	for _, name := range []string{"Doomed", "Old/Child", "Unsubscribed"} {
		mb, err := s.CreateMailbox(ctx, a.ID, name, "")
		must(t, err)
		if mb.Subscribed {
			t.Errorf("CreateMailbox subscribed %s", name)
		}
	}
	must(t, s.SetSubscribed(ctx, a.ID, "Doomed", true))
	must(t, s.SetSubscribed(ctx, a.ID, "Old/Child", true))
	must(t, s.DeleteMailbox(ctx, a.ID, "Doomed"))
	must(t, s.RenameMailbox(ctx, a.ID, "Old", "New"))
	got := names(a)
	for _, want := range []string{"Future/Box", "Doomed", "New/Child"} {
		if !slices.Contains(got, want) {
			t.Errorf("%q missing from %q", want, got)
		}
	}
	if slices.Contains(got, "Old/Child") || slices.Contains(got, "Unsubscribed") || !slices.IsSorted(got) || slices.Contains(names(other), "Future/Box") {
		t.Errorf("subscriptions %q; other account %q", got, names(other))
	}
	// Created again, the mailbox is subscribed (its name still is);
	// unsubscribing works whether or not the mailbox exists.
	mb, err := s.CreateMailbox(ctx, a.ID, "Doomed", "")
	must(t, err)
	if !mb.Subscribed {
		t.Error("re-created mailbox not subscribed")
	}
	must(t, s.SetSubscribed(ctx, a.ID, "Doomed", false))
	must(t, s.SetSubscribed(ctx, a.ID, "Future/Box", false))
	if mb, _ := s.GetMailbox(ctx, a.ID, "Doomed"); mb.Subscribed {
		t.Error("still subscribed")
	}
	if got := names(a); slices.Contains(got, "Doomed") || slices.Contains(got, "Future/Box") {
		t.Errorf("after unsubscribing: %q", got)
	}
	if err := s.SetSubscribed(ctx, a.ID, "Never", false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unsubscribe from nothing: %v", err)
	}
}
