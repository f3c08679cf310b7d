package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// testRecent: \Recent (RFC 3501 §2.3.2) is the store's to share out. A
// new message is recent until one session claims it; a claim is
// atomic, so of two sessions only the first gets a message; what
// arrives after a claim, delivered, appended, copied or moved, is
// recent to the next claimer. Recent counts what is unclaimed, on every
// path that returns a mailbox.
func testRecent(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "recent")
	inbox, err := s.GetMailbox(ctx, a.ID, "INBOX")
	must(t, err)
	if inbox.FirstRecent != 1 || inbox.Recent != 0 {
		t.Fatalf("an empty mailbox: FirstRecent %d, Recent %d; want 1, 0", inbox.FirstRecent, inbox.Recent)
	}
	claim := func(mb int64, below uint32, wantFrom, wantTo uint32) {
		t.Helper()
		from, to, err := s.ClaimRecent(ctx, mb, below)
		must(t, err)
		if from != wantFrom || to != wantTo {
			t.Fatalf("ClaimRecent(below %d) = [%d, %d), want [%d, %d)", below, from, to, wantFrom, wantTo)
		}
	}
	counts := func(name string, wantFirst uint32, wantRecent int64) {
		t.Helper()
		mb, err := s.GetMailbox(ctx, a.ID, name)
		must(t, err)
		all, err := s.ListMailboxes(ctx, a.ID)
		must(t, err)
		listed := all[slices.IndexFunc(all, func(m store.Mailbox) bool { return m.Name == name })]
		snap, _, err := s.MessageStates(ctx, mb.ID)
		must(t, err)
		for _, m := range []store.Mailbox{mb, listed, snap} {
			if m.FirstRecent != wantFirst || m.Recent != wantRecent {
				t.Fatalf("%s: FirstRecent %d, Recent %d; want %d, %d", name, m.FirstRecent, m.Recent, wantFirst, wantRecent)
			}
		}
	}

	deliverTo(t, s, a, "INBOX", 3)
	counts("INBOX", 1, 3)
	claim(inbox.ID, 4, 1, 4) // the first session to select gets all three
	counts("INBOX", 4, 0)
	claim(inbox.ID, 4, 4, 4) // a second one gets none
	deliverTo(t, s, a, "INBOX", 1)
	counts("INBOX", 4, 1)
	claim(inbox.ID, 5, 4, 5) // a message after the claim is the next claimer's
	claim(inbox.ID, 5, 5, 5)

	// A session claims only what it has seen (below), never past UIDNEXT.
	deliverTo(t, s, a, "INBOX", 2) // UIDs 5, 6
	claim(inbox.ID, 6, 5, 6)
	counts("INBOX", 6, 1)
	claim(inbox.ID, 100, 6, 7)
	counts("INBOX", 7, 0)
	claim(inbox.ID, 3, 7, 7) // a lower bound takes nothing back

	// COPY and MOVE targets, and APPEND (Deliver), make recent messages;
	// an expunge of a recent message lowers the count, of another not.
	trash, err := s.GetMailbox(ctx, a.ID, "Trash")
	must(t, err)
	if _, err := s.CopyMessages(ctx, inbox.ID, []uint32{1, 2}, trash.ID, false); err != nil {
		t.Fatal(err)
	}
	counts("Trash", 1, 2)
	claim(trash.ID, 2, 1, 2)
	counts("Trash", 2, 1)
	if _, err := s.CopyMessages(ctx, inbox.ID, []uint32{3}, trash.ID, true); err != nil {
		t.Fatal(err)
	}
	counts("Trash", 2, 2)
	counts("INBOX", 7, 0) // the move's source expunge took nothing recent
	deliverTo(t, s, a, "Trash", 1)
	counts("Trash", 2, 3)
	_, err = s.Expunge(ctx, trash.ID, []uint32{1, 3}) // claimed, then recent
	must(t, err)
	counts("Trash", 2, 2)
	claim(trash.ID, 5, 2, 5)
	counts("Trash", 5, 0)

	if _, _, err := s.ClaimRecent(ctx, 1<<40, 10); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClaimRecent of no mailbox: %v, want ErrNotFound", err)
	}
}

// testRecentConcurrent: sessions claiming while messages arrive get
// disjoint ranges that together hold every message, each once.
func testRecentConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "recentrace")
	const sessions, messages = 4, 20
	var mu sync.Mutex
	owner := map[uint32]int{}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for n := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for stop := false; !stop; {
				select {
				case <-done:
					stop = true // one last claim after the last delivery
				default:
				}
				from, to, err := s.ClaimRecent(ctx, mustMailbox(t, s, a, "INBOX").ID, 1<<31)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for u := from; u < to; u++ {
					if o, ok := owner[u]; ok {
						t.Errorf("UID %d claimed by sessions %d and %d", u, o, n)
					}
					owner[u] = n
				}
				mu.Unlock()
			}
		}()
	}
	for range messages {
		deliverTo(t, s, a, "INBOX", 1)
	}
	close(done)
	wg.Wait()
	for u := uint32(1); u <= messages; u++ {
		if _, ok := owner[u]; !ok {
			t.Errorf("UID %d claimed by no session", u)
		}
	}
	if mb := mustMailbox(t, s, a, "INBOX"); mb.Recent != 0 || mb.FirstRecent != messages+1 {
		t.Errorf("after the claims: FirstRecent %d, Recent %d", mb.FirstRecent, mb.Recent)
	}
}

func mustMailbox(t *testing.T, s store.Store, a store.Account, name string) store.Mailbox {
	mb, err := s.GetMailbox(context.Background(), a.ID, name)
	if err != nil {
		t.Error(err)
	}
	return mb
}
