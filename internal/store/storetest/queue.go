package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

// testQueueLifecycle: claim, lease, per-recipient status, hold, flush,
// delete — what delivery workers and the queue CLI rely on.
func testQueueLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "q")
	m := putBlob(t, s, a, testMessage(7))
	now := time.Now().Truncate(time.Second)
	ids, err := s.Enqueue(ctx, []store.QueuedMessage{
		{Sender: "q@example.test", Recipients: []string{"x@r.test", "y@r.test"}, Domain: "r.test",
			BlobID: m.BlobID, Size: m.Size, EnvID: "env1", Ret: "FULL", Headers: "DKIM-Signature: v=1\r\n",
			Status:   []store.RecipientStatus{{Notify: "SUCCESS,FAILURE", ORcpt: "rfc822;x@r.test"}},
			SMTPUTF8: true, RequireTLS: true},
		{Sender: "q@example.test", Recipients: []string{"z@later.test"}, Domain: "later.test",
			BlobID: m.BlobID, Size: m.Size, NextAttempt: now.Add(time.Hour)},
	})
	must(t, err)
	got, err := s.GetQueued(ctx, ids[0])
	must(t, err)
	if len(got.Status) != 2 || got.Status[0].Notify != "SUCCESS,FAILURE" || got.Status[0].ORcpt != "rfc822;x@r.test" ||
		got.Status[1] != (store.RecipientStatus{}) || !got.SMTPUTF8 || !got.RequireTLS || got.Body8Bit ||
		got.Headers != "DKIM-Signature: v=1\r\n" || got.Ret != "FULL" || got.EnvID != "env1" {
		t.Fatalf("GetQueued: %+v", got)
	}
	if _, err := s.GetQueued(ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetQueued(missing): %v", err)
	}

	// Only the due entry is claimed, and only once while leased.
	c, err := s.ClaimQueued(ctx, now, now.Add(time.Minute), 10)
	must(t, err)
	if len(c) != 1 || c[0].ID != ids[0] {
		t.Fatalf("claim: %+v", c)
	}
	if c, _ := s.ClaimQueued(ctx, now, now.Add(time.Minute), 10); len(c) != 0 {
		t.Fatalf("claimed twice: %+v", c)
	}
	// A lease that ended (a worker died) makes the entry claimable again.
	if c, _ := s.ClaimQueued(ctx, now.Add(2*time.Minute), now.Add(3*time.Minute), 10); len(c) != 1 {
		t.Fatalf("expired lease not reclaimed: %+v", c)
	}
	must(t, s.ReleaseClaims(ctx))
	if c, _ := s.ClaimQueued(ctx, now, now.Add(time.Minute), 10); len(c) != 1 {
		t.Fatalf("released lease not reclaimed: %+v", c)
	}

	// An attempt: one recipient delivered, one pending; the lease ends.
	e := c[0]
	e.Status[0].State, e.Status[0].Reply = store.RcptDelivered, "250 ok"
	e.Status[1].Reply = "451 later"
	e.Attempts, e.NextAttempt, e.LastError, e.Warned = 1, now.Add(5*time.Minute), "451 later", true
	must(t, s.UpdateQueued(ctx, e))
	got, err = s.GetQueued(ctx, e.ID)
	must(t, err)
	if got.Attempts != 1 || !got.NextAttempt.Equal(now.Add(5*time.Minute)) || got.LastError != "451 later" ||
		!got.Warned || got.Status[0].State != store.RcptDelivered || got.Status[0].Notify != "SUCCESS,FAILURE" ||
		got.Status[1].State != store.RcptPending || got.Status[1].Reply != "451 later" {
		t.Fatalf("after UpdateQueued: %+v", got)
	}
	if c, _ := s.ClaimQueued(ctx, now, now.Add(time.Minute), 10); len(c) != 0 {
		t.Fatalf("claimed before next attempt: %+v", c)
	}

	// Hold keeps an entry from workers even when flushed.
	must(t, s.HoldQueued(ctx, ids[1], true))
	n, err := s.FlushQueue(ctx, 0, now)
	must(t, err)
	if n != 1 {
		t.Fatalf("flush all changed %d entries, want 1 (one is held)", n)
	}
	c, err = s.ClaimQueued(ctx, now, now.Add(time.Minute), 10)
	must(t, err)
	if len(c) != 1 || c[0].ID != ids[0] {
		t.Fatalf("claim after flush: %+v", c)
	}
	must(t, s.HoldQueued(ctx, ids[1], false))
	if _, err := s.FlushQueue(ctx, ids[1], now); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.ClaimQueued(ctx, now, now.Add(time.Minute), 10); len(c) != 1 || c[0].ID != ids[1] {
		t.Fatalf("claim released entry: %+v", c)
	}
	for _, err := range []error{s.HoldQueued(ctx, 1<<40, true), s.DeleteQueued(ctx, 1<<40), s.UpdateQueued(ctx, store.QueuedMessage{ID: 1 << 40})} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing entry: %v", err)
		}
	}
	if _, err := s.FlushQueue(ctx, 1<<40, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("flush missing entry: %v", err)
	}

	// Delete removes entries; the blob stays readable while referenced.
	must(t, s.DeleteQueued(ctx, ids[0]))
	if _, err := s.GetQueued(ctx, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted entry still there: %v", err)
	}
	must(t, s.DeleteQueued(ctx, ids[1]))
	if q, _ := s.ListQueue(ctx); len(q) != 0 {
		t.Fatalf("queue not empty: %+v", q)
	}
}
