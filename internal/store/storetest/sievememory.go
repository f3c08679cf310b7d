package storetest

import (
	"context"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

// testSieveMemory: a mark is the account's own, holds until it expires,
// is renewed by marking it again, and goes with the account.
func testSieveMemory(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s, "sievea"), newAccount(t, s, "sieveb")
	now := time.Now()
	marked := func(acct store.Account, key string, at time.Time) bool {
		t.Helper()
		ok, err := s.SieveMarked(ctx, acct.ID, key, at)
		must(t, err)
		return ok
	}
	if marked(a, "k", now) {
		t.Fatal("a new account has a mark")
	}
	must(t, s.MarkSieve(ctx, a.ID, []store.SieveMark{{Key: "k", Expires: now.Add(time.Hour)}, {Key: "short", Expires: now.Add(time.Minute)}}))
	if !marked(a, "k", now) || !marked(a, "short", now) {
		t.Fatal("marks not kept")
	}
	if marked(b, "k", now) {
		t.Fatal("another account's mark shows")
	}
	if marked(a, "short", now.Add(2*time.Minute)) || !marked(a, "k", now.Add(2*time.Minute)) {
		t.Fatal("a mark outlived its expiry, or one expired early")
	}
	must(t, s.MarkSieve(ctx, a.ID, []store.SieveMark{{Key: "short", Expires: now.Add(2 * time.Hour)}}))
	if !marked(a, "short", now.Add(90*time.Minute)) {
		t.Fatal("marking again did not renew the mark")
	}
	must(t, s.MarkSieve(ctx, a.ID, nil))
	must(t, s.DeleteAccount(ctx, a.Address))
	a2 := newAccount(t, s, "sievea")
	if marked(a2, "k", now) {
		t.Fatal("a deleted account's marks passed to a new account of the same address")
	}
}
