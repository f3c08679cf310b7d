package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/store"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), Options{Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openWithAccount opens a store holding example.test and u@example.test.
func openWithAccount(t *testing.T) (*Store, store.Account) {
	t.Helper()
	s := openTest(t)
	ctx := context.Background()
	if err := s.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.Account{Address: "u@example.test", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

// commitBlob stores body as a blob.
func commitBlob(t *testing.T, s *Store, body string) (string, int64) {
	t.Helper()
	w, err := s.Blobs().Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, body)
	id, size, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return id, size
}

// A write whose transaction SQLite has already rolled back (as it does on
// SQLITE_FULL or IOERR) must fail, and so must the writes batched with it:
// no statement may run outside the transaction and be reported durable.
func TestCommitterAbortedTransaction(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, ret := range []error{nil, errors.New("disk full")} {
		err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO domains(name, created) VALUES('lost.test', 0)"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "ROLLBACK"); err != nil {
				return err
			}
			return ret
		})
		if !isFatal(err) {
			t.Fatalf("returning %v after the transaction ended: err %v, want a fatal error", ret, err)
		}
	}
	if ok, _ := s.HasDomain(ctx, "lost.test"); ok {
		t.Fatal("a write of an aborted transaction is visible")
	}
	// The committer goes on with the next batch.
	if err := s.AddDomain(ctx, "next.test"); err != nil {
		t.Fatalf("write after an aborted batch: %v", err)
	}
}

// A panic inside a write fails that write only.
func TestCommitterPanic(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panicking write: %v", err)
	}
	if err := s.AddDomain(ctx, "after.test"); err != nil {
		t.Fatalf("write after a panic: %v", err)
	}
}

// A small blob written by a savepoint that is rolled back must stay
// pending, so that the next message that refers to it stores its bytes.
func TestPendingBlobSurvivesRolledBackSavepoint(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	w, err := s.Blobs().Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body := "Subject: x\r\n\r\nhello\r\n"
	io.WriteString(w, body)
	id, size, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	err = s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.blobs.persist(ctx, tx, id); err != nil {
			return err
		}
		return errors.New("later step failed")
	})
	if err == nil || isFatal(err) {
		t.Fatalf("failed write: %v", err)
	}
	if err := s.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.Account{Address: "u@example.test", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := s.Deliver(ctx, []store.NewMessage{{AccountID: a.ID, BlobID: id, Size: size}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	s.blobs.mu.Lock()
	delete(s.blobs.pending, id) // as if the process restarted
	s.blobs.mu.Unlock()
	b, err := s.Blobs().Open(ctx, id)
	if err != nil {
		t.Fatalf("blob of a delivered message: %v", err)
	}
	defer b.Close()
	got, _ := io.ReadAll(b)
	if string(got) != body {
		t.Fatalf("blob %q", got)
	}
}

// A message must not be stored when its bytes are gone (a pending blob
// dropped before any delivery referred to it).
func TestDeliverMissingBlobRefused(t *testing.T) {
	s, a := openWithAccount(t)
	ctx := context.Background()
	missing := strings.Repeat("ab", 32)
	if _, errs := s.Deliver(ctx, []store.NewMessage{{AccountID: a.ID, BlobID: missing, Size: 10}}); errs[0] == nil {
		t.Fatal("delivery of a message without its bytes succeeded")
	}
	if mb, _ := s.GetMailbox(ctx, a.ID, "INBOX"); mb.Messages != 0 {
		t.Fatalf("INBOX has %d messages", mb.Messages)
	}
}

// A discarded blob leaves memory; a late delivery that refers to it fails
// instead of storing a message without content.
func TestDiscardedBlob(t *testing.T) {
	s, a := openWithAccount(t)
	ctx := context.Background()
	id, size := commitBlob(t, s, "Subject: refused\r\n\r\nx\r\n")
	s.blobs.Discard(id)
	if len(s.blobs.pending) != 0 {
		t.Fatalf("%d blobs still pending", len(s.blobs.pending))
	}
	if _, errs := s.Deliver(ctx, []store.NewMessage{{AccountID: a.ID, BlobID: id, Size: size}}); errs[0] == nil {
		t.Fatal("delivery of discarded bytes succeeded")
	}
}

// A write statement run inside a transaction is prepared after it, once,
// and used from then on; the lazily prepared statements stay bounded.
func TestWriteStatementsPreparedAfterUse(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	const q = "UPDATE sequences SET value = value WHERE name = ?"
	run := func(query string) {
		t.Helper()
		err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := s.txExec(ctx, tx, query, "mailbox")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	run(q)
	st, ok := s.wstmts.m.Load(q)
	if !ok {
		t.Fatal("statement not prepared after its first transaction")
	}
	run(q)
	if st2, _ := s.wstmts.m.Load(q); st2 != st {
		t.Fatal("statement prepared again")
	}
	for i := range maxStmts + 10 {
		run(q + " AND " + strings.Repeat("1 = 1 AND ", i) + "1 = 1")
	}
	n := 0
	s.wstmts.m.Range(func(_, _ any) bool { n++; return true })
	if limit := maxStmts + len(hotWrites); n > limit {
		t.Fatalf("%d write statements cached, want at most %d", n, limit)
	}
}
