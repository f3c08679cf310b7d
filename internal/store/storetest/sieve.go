package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// testSieveScripts: an account's scripts are its own, listed by name with
// their size and the one active script; a put replaces content and keeps
// the active state; rename keeps both; the active script cannot be
// deleted; SETACTIVE "" deactivates; refused changes change nothing; the
// scripts go with the account.
func testSieveScripts(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s, "sievea"), newAccount(t, s, "sieveb")
	list := func(acct store.Account) []store.SieveScript {
		t.Helper()
		l, err := s.ListSieveScripts(ctx, acct.ID)
		must(t, err)
		return l
	}
	active := func(acct store.Account) string {
		t.Helper()
		name, content, ok, err := s.ActiveSieveScript(ctx, acct.ID)
		must(t, err)
		if !ok {
			return ""
		}
		if want, err := s.GetSieveScript(ctx, acct.ID, name); err != nil || !bytes.Equal(content, want) {
			t.Fatalf("active script %q: %q, GetSieveScript gives %q, %v", name, content, want, err)
		}
		return name
	}
	if l := list(a); len(l) != 0 || active(a) != "" {
		t.Fatalf("a new account has scripts %v", l)
	}
	none := store.SieveLimits{}
	must(t, s.PutSieveScript(ctx, a.ID, "vacation", []byte("keep;\r\n"), none))
	must(t, s.PutSieveScript(ctx, a.ID, "Spam filter ✓", []byte(`require "fileinto"; fileinto "Junk";`), none))
	must(t, s.PutSieveScript(ctx, a.ID, "empty", nil, none))
	must(t, s.PutSieveScript(ctx, b.ID, "vacation", []byte("discard;"), none))
	want := []store.SieveScript{{Name: "Spam filter ✓", Size: 36}, {Name: "empty"}, {Name: "vacation", Size: 7}}
	if got := list(a); !slices.Equal(got, want) {
		t.Fatalf("scripts of a: %v, want %v", got, want)
	}
	if got, err := s.GetSieveScript(ctx, a.ID, "empty"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty script: %q, %v; want an empty, non-nil slice", got, err)
	}
	if _, err := s.GetSieveScript(ctx, a.ID, "VACATION"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("names differing in case: %v, want ErrNotFound (RFC 5804 §1.6: i;octet)", err)
	}

	// One active script per account.
	must(t, s.SetActiveSieveScript(ctx, a.ID, "vacation"))
	must(t, s.SetActiveSieveScript(ctx, a.ID, "empty"))
	if got := active(a); got != "empty" || active(b) != "" {
		t.Fatalf("active: a %q, b %q", got, active(b))
	}
	if n := countActive(list(a)); n != 1 {
		t.Fatalf("%d active scripts", n)
	}
	if err := s.SetActiveSieveScript(ctx, a.ID, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("activating a missing script: %v", err)
	}
	if got := active(a); got != "empty" {
		t.Fatalf("a refused SETACTIVE changed the active script to %q", got)
	}

	// A put keeps the active state; rename keeps content and state.
	must(t, s.PutSieveScript(ctx, a.ID, "empty", []byte("stop;"), none))
	must(t, s.RenameSieveScript(ctx, a.ID, "empty", "main"))
	if name, content, ok, _ := s.ActiveSieveScript(ctx, a.ID); !ok || name != "main" || string(content) != "stop;" {
		t.Fatalf("after put and rename: %q %q %v", name, content, ok)
	}
	if err := s.RenameSieveScript(ctx, a.ID, "main", "vacation"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("rename onto a taken name: %v", err)
	}
	if err := s.RenameSieveScript(ctx, a.ID, "gone", "other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rename of a missing script: %v", err)
	}
	if err := s.RenameSieveScript(ctx, a.ID, "main", "bad\nname"); !errors.Is(err, store.ErrSieveName) {
		t.Fatalf("rename to a name with LF: %v", err)
	}

	// The active script cannot be deleted.
	if err := s.DeleteSieveScript(ctx, a.ID, "main"); !errors.Is(err, store.ErrSieveActive) {
		t.Fatalf("deleting the active script: %v", err)
	}
	must(t, s.SetActiveSieveScript(ctx, a.ID, ""))
	if active(a) != "" || countActive(list(a)) != 0 {
		t.Fatal("SETACTIVE \"\" left a script active")
	}
	must(t, s.DeleteSieveScript(ctx, a.ID, "main"))
	if err := s.DeleteSieveScript(ctx, a.ID, "main"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a deleted script: %v", err)
	}
	if err := s.DeleteSieveScript(ctx, b.ID, "Spam filter ✓"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b deleting a's script: %v", err)
	}
	if got := list(b); len(got) != 1 || got[0].Name != "vacation" {
		t.Fatalf("b's scripts changed: %v", got)
	}

	// The scripts go with the account.
	must(t, s.SetActiveSieveScript(ctx, a.ID, "vacation"))
	must(t, s.DeleteAccount(ctx, a.Address))
	again := newAccount(t, s, "sievea")
	if got := list(again); len(got) != 0 || active(again) != "" {
		t.Fatalf("an account made again has a deleted one's scripts %v", got)
	}
	if got := list(a); len(got) != 0 {
		t.Fatalf("a deleted account still has scripts %v", got)
	}
	if err := s.PutSieveScript(ctx, a.ID, "x", nil, none); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a script for a deleted account: %v", err)
	}
}

func countActive(l []store.SieveScript) int {
	n := 0
	for _, sc := range l {
		if sc.Active {
			n++
		}
	}
	return n
}

// testSieveLimits: names are checked, and SieveLimits bound size and
// count, also for concurrent puts of new names; a refused put changes
// nothing, and replacing a script never counts as a new one.
func testSieveLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "sievelimits")
	for _, name := range []string{"", "a\x00b", "tab\there", "del\x7f", "c1\u0085", "ls\u2028", string([]byte{0xff}), strings.Repeat("é", store.MaxSieveNameLen/2+1)} {
		if err := s.PutSieveScript(ctx, a.ID, name, nil, store.SieveLimits{}); !errors.Is(err, store.ErrSieveName) {
			t.Errorf("name %q: %v, want ErrSieveName", name, err)
		}
	}
	must(t, s.PutSieveScript(ctx, a.ID, strings.Repeat("é", store.MaxSieveNameLen/2), nil, store.SieveLimits{}))
	must(t, s.DeleteSieveScript(ctx, a.ID, strings.Repeat("é", store.MaxSieveNameLen/2)))

	lim := store.SieveLimits{MaxScripts: 3, MaxSize: 10}
	if err := s.PutSieveScript(ctx, a.ID, "big", make([]byte, 11), lim); !errors.Is(err, store.ErrSieveTooLarge) {
		t.Fatalf("11 octets over a limit of 10: %v", err)
	}
	must(t, s.PutSieveScript(ctx, a.ID, "ten", make([]byte, 10), lim))
	if err := s.PutSieveScript(ctx, a.ID, "ten", make([]byte, 11), lim); !errors.Is(err, store.ErrSieveTooLarge) {
		t.Fatalf("replacing with 11 octets: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { errs[i] = s.PutSieveScript(ctx, a.ID, string(rune('a'+i)), []byte("keep;"), lim) })
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		if errors.Is(err, store.ErrSieveTooMany) {
			refused++
		} else {
			must(t, err)
		}
	}
	l, err := s.ListSieveScripts(ctx, a.ID)
	must(t, err)
	if refused != 4 || len(l) != 3 {
		t.Fatalf("6 concurrent new scripts next to 1 with a limit of 3: %d refused, %d stored", refused, len(l))
	}
	if c, _ := s.GetSieveScript(ctx, a.ID, "ten"); len(c) != 10 {
		t.Fatalf("a refused replacement changed the script: %d octets", len(c))
	}
	must(t, s.PutSieveScript(ctx, a.ID, "ten", []byte("keep;"), lim)) // replacing is not adding
}
