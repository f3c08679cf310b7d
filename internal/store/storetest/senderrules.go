package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// testSenderRules: an account's allow and block lists are its own (what
// one account allows or blocks never shows in another's list), hold one
// rule per domain (setting it again changes its kind), come sorted by
// domain, refuse an unknown kind or account, and go with the account.
func testSenderRules(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s, "rulesa"), newAccount(t, s, "rulesb")
	rules := func(acct store.Account) []store.SenderRule {
		t.Helper()
		r, err := s.SenderRules(ctx, acct.ID)
		must(t, err)
		return r
	}
	if r := rules(a); len(r) != 0 {
		t.Fatalf("a new account has rules %v", r)
	}
	allowA := store.SenderRule{Kind: store.SenderAllow, Domain: "a.test"}
	blockB := store.SenderRule{Kind: store.SenderBlock, Domain: "*.b.test"}
	must(t, s.SetSenderRule(ctx, a.ID, allowA))
	must(t, s.SetSenderRule(ctx, a.ID, blockB))
	must(t, s.SetSenderRule(ctx, a.ID, store.SenderRule{Kind: store.SenderAllow, Domain: "bücher.test"}))
	must(t, s.SetSenderRule(ctx, b.ID, store.SenderRule{Kind: store.SenderBlock, Domain: "a.test"}))
	want := []store.SenderRule{blockB, allowA, {Kind: store.SenderAllow, Domain: "bücher.test"}}
	if got := rules(a); !slices.Equal(got, want) {
		t.Fatalf("rules of a: %v, want %v", got, want)
	}
	if got := rules(b); !slices.Equal(got, []store.SenderRule{{Kind: store.SenderBlock, Domain: "a.test"}}) {
		t.Fatalf("rules of b: %v: another account's rules show, or b's were lost", got)
	}

	// One rule per domain: setting it again changes its kind.
	must(t, s.SetSenderRule(ctx, a.ID, store.SenderRule{Kind: store.SenderBlock, Domain: "a.test"}))
	if got := rules(a); len(got) != 3 || got[1] != (store.SenderRule{Kind: store.SenderBlock, Domain: "a.test"}) {
		t.Fatalf("after blocking an allowed domain: %v", got)
	}
	if err := s.SetSenderRule(ctx, a.ID, store.SenderRule{Kind: "maybe", Domain: "c.test"}); err == nil {
		t.Fatal("a rule of kind maybe was taken")
	}
	if err := s.SetSenderRule(ctx, a.ID, store.SenderRule{Kind: store.SenderAllow}); err == nil {
		t.Fatal("a rule without a domain was taken")
	}
	if err := s.SetSenderRule(ctx, b.ID+a.ID+1000, allowA); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rule for no account: %v, want ErrNotFound", err)
	}
	if got := rules(a); len(got) != 3 {
		t.Fatalf("refused rules were stored: %v", got)
	}

	// Deleting is per account too.
	must(t, s.DeleteSenderRule(ctx, b.ID, "a.test"))
	if err := s.DeleteSenderRule(ctx, b.ID, "a.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a deleted rule: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSenderRule(ctx, b.ID, "*.b.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b deleting a's rule: %v, want ErrNotFound", err)
	}
	if got := rules(a); len(got) != 3 || len(rules(b)) != 0 {
		t.Fatalf("after b's deletions: a %v, b %v", got, rules(b))
	}

	// The rules go with the account.
	must(t, s.DeleteAccount(ctx, a.Address))
	again := newAccount(t, s, "rulesa")
	if got := rules(again); len(got) != 0 {
		t.Fatalf("an account made again under a deleted one's address has its rules %v", got)
	}
	if got := rules(a); len(got) != 0 {
		t.Fatalf("a deleted account still has rules %v", got)
	}
}
