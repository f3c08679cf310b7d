package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"facteur.dev/facteur/internal/mail"
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

// testDeliverAndEnqueue: local copies and queue rows in one call; a copy
// over quota fails alone and the queue row is still stored; the blob is
// kept for the queue even when no local copy refers to it.
func testDeliverAndEnqueue(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "dq")
	full := newAccount(t, s, "dqfull")
	must(t, s.SetQuota(ctx, full.Address, 10))
	m := putBlob(t, s, a, testMessage(8))
	over := m
	over.AccountID = full.ID
	q := []store.QueuedMessage{{Sender: "s@remote.test", Recipients: []string{"x@r.test"}, Domain: "r.test", BlobID: m.BlobID, Size: m.Size}}
	out, errs, ids, err := s.DeliverAndEnqueue(ctx, []store.NewMessage{m, over}, q)
	must(t, err)
	if errs[0] != nil || !errors.Is(errs[1], mail.ErrQuotaFull) || out[0].UID == 0 || len(ids) != 1 {
		t.Fatalf("DeliverAndEnqueue: %+v %v %v", out, errs, ids)
	}
	got, err := s.GetQueued(ctx, ids[0])
	must(t, err)
	if got.BlobID != m.BlobID || got.Recipients[0] != "x@r.test" {
		t.Fatalf("queued %+v", got)
	}
	b, err := s.Blobs().Open(ctx, got.BlobID)
	must(t, err)
	b.Close()
	// Only queue rows.
	m2 := putBlob(t, s, a, testMessage(9))
	_, _, ids, err = s.DeliverAndEnqueue(ctx, nil, []store.QueuedMessage{{Sender: "s@remote.test", Recipients: []string{"y@r.test"},
		Domain: "r.test", BlobID: m2.BlobID, Size: m2.Size}})
	must(t, err)
	if len(ids) != 1 {
		t.Fatalf("queue only: %v", ids)
	}
	if _, err := s.GetQueued(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
}
