package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// Messages stored before the text index existed are indexed from their
// bytes (the header lines of the row, then the blob) at the first search
// of their mailbox.
func TestTextIndexLazy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openWithDomain(t, dir)
	a, err := s.CreateAccount(ctx, store.Account{Address: "u@example.test", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []store.NewMessage
	for _, body := range []string{"Subject: one\r\n\r\nan aardvark\r\n", "Subject: two\r\n\r\na zebra\r\n"} {
		w, err := s.Blobs().Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
		id, size, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		p, _ := message.Parse(bytes.NewReader([]byte(body)))
		msgs = append(msgs, store.NewMessage{AccountID: a.ID, BlobID: id, Size: size, Parsed: p, InternalDate: time.Now()})
	}
	msgs[0].Headers = "X-Check: pass\r\n"
	msgs[0].Parsed = msgs[0].Parsed.WithPrefix(msgs[0].Headers)
	out, errs := s.Deliver(ctx, msgs)
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	// Forget the index, as in a database from before it opened by a new
	// process: no queued text, no marks of what is indexed.
	s.textq.drain()
	if _, err := s.write.ExecContext(ctx, "DELETE FROM message_text"); err != nil {
		t.Fatal(err)
	}
	s.text.mu.Lock()
	s.text.upTo = nil
	s.text.mu.Unlock()
	// The owner's start-up backfill indexes them (run here in the
	// foreground); a second run finds nothing to do.
	if err := s.backfillText(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	s.read.QueryRowContext(ctx, "SELECT count(*) FROM message_text").Scan(&n)
	if n != 2 {
		t.Fatalf("%d index rows after the backfill, want 2", n)
	}
	if err := s.backfillText(ctx); err != nil {
		t.Fatal(err)
	}
	// Or, in a process that has not searched the mailbox yet, the first
	// search does.
	if _, err := s.write.ExecContext(ctx, "DELETE FROM message_text"); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.SearchText(ctx, out[0].MailboxID, store.TextBody, "ZEBRA")
	if err != nil || !slices.Equal(got, []uint32{2}) {
		t.Fatalf("after re-indexing: %v %v", got, err)
	}
	got, err = s.SearchText(ctx, out[0].MailboxID, store.TextHeader("subject"), "one")
	if err != nil || !slices.Equal(got, []uint32{1}) {
		t.Fatalf("header after re-indexing: %v %v", got, err)
	}
	got, err = s.SearchText(ctx, out[0].MailboxID, store.TextHeader("x-check"), "pass")
	if err != nil || !slices.Equal(got, []uint32{1}) {
		t.Fatalf("added header after re-indexing: %v %v", got, err)
	}
	s.read.QueryRowContext(ctx, "SELECT count(*) FROM message_text").Scan(&n)
	if n != 2 {
		t.Fatalf("%d index rows, want 2", n)
	}
}

// Index rows go with their messages: expunged, moved, or deleted with
// their mailbox.
func TestTextIndexFollowsMessages(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddDomain(ctx, "example.test")
	a, err := s.CreateAccount(ctx, store.Account{Address: "u@example.test", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	box, err := s.CreateMailbox(ctx, a.ID, "Box", "")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []store.NewMessage
	for i := range 3 {
		body := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		w, _ := s.Blobs().Create(ctx)
		io.WriteString(w, body)
		id, size, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		p, _ := message.Parse(bytes.NewReader([]byte(body)))
		msgs = append(msgs, store.NewMessage{AccountID: a.ID, Mailbox: "Box", BlobID: id, Size: size, Parsed: p})
	}
	s.Deliver(ctx, msgs)
	if err := s.writeQueuedText(ctx, s.textq.drain()); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		var n int
		s.read.QueryRowContext(ctx, "SELECT count(*) FROM message_text").Scan(&n)
		return n
	}
	if n := rows(); n != 3 {
		t.Fatalf("%d rows after delivery, want 3", n)
	}
	if _, err := s.Expunge(ctx, box.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 2 {
		t.Fatalf("%d rows after expunge, want 2", n)
	}
	inbox, _ := s.GetMailbox(ctx, a.ID, "INBOX")
	if _, err := s.CopyMessages(ctx, box.ID, []uint32{2}, inbox.ID, true); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 2 {
		t.Fatalf("%d rows after move, want 2", n)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "Box"); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 1 {
		t.Fatalf("%d rows after deleting the mailbox, want 1", n)
	}
}

// The deferred indexer writes a delivered message's text by itself once
// deliveries pause, without any search asking for it.
func TestDeferredTextIndexing(t *testing.T) {
	s, a := openWithAccount(t)
	ctx := context.Background()
	body := "Subject: deferred\r\n\r\na quokka\r\n"
	id, size := commitBlob(t, s, body)
	p, _ := message.Parse(bytes.NewReader([]byte(body)))
	if _, errs := s.Deliver(ctx, []store.NewMessage{{AccountID: a.ID, BlobID: id, Size: size, Parsed: p}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	waitIndexed(t, s, "WHERE body LIKE '%quokka%'", 1)
}

// Entries dropped while the queue was full are indexed from their blobs
// once the queue drains, without a search asking for them.
func TestDroppedTextCatchesUp(t *testing.T) {
	s, a := openWithAccount(t)
	ctx := context.Background()
	for i, word := range []string{"quokka", "wombat"} {
		body := fmt.Sprintf("Subject: %d\r\n\r\na %s\r\n", i, word)
		id, size := commitBlob(t, s, body)
		p, _ := message.Parse(bytes.NewReader([]byte(body)))
		if i == 1 { // the queue is "full": this one is dropped
			s.textq.mu.Lock()
			s.textq.bytes = textQueueMax
			s.textq.mu.Unlock()
		}
		if _, errs := s.Deliver(ctx, []store.NewMessage{{AccountID: a.ID, BlobID: id, Size: size, Parsed: p}}); errs[0] != nil {
			t.Fatal(errs[0])
		}
		if i == 1 {
			s.textq.mu.Lock()
			s.textq.bytes -= textQueueMax
			s.textq.mu.Unlock()
		}
	}
	waitIndexed(t, s, "", 2)
}

// waitIndexed waits (up to 10 s) until the background indexer has written
// want index rows matching where.
func waitIndexed(t *testing.T, s *Store, where string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		s.read.QueryRowContext(context.Background(), "SELECT count(*) FROM message_text "+where).Scan(&n)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d index rows %s, want %d", n, where, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
