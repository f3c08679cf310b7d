package sqlite

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// Messages stored before the text index existed are indexed from their
// blobs at the first search of their mailbox.
func TestTextIndexLazy(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
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
	out, errs := s.Deliver(ctx, msgs)
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	// Forget the index, as in a database from before it.
	if _, err := s.write.ExecContext(ctx, "DELETE FROM message_text"); err != nil {
		t.Fatal(err)
	}
	got, err := s.SearchText(ctx, out[0].MailboxID, store.TextBody, "ZEBRA")
	if err != nil || !slices.Equal(got, []uint32{2}) {
		t.Fatalf("after re-indexing: %v %v", got, err)
	}
	got, err = s.SearchText(ctx, out[0].MailboxID, store.TextHeader("subject"), "one")
	if err != nil || !slices.Equal(got, []uint32{1}) {
		t.Fatalf("header after re-indexing: %v %v", got, err)
	}
	var n int
	s.read.QueryRowContext(ctx, "SELECT count(*) FROM message_text").Scan(&n)
	if n != 2 {
		t.Fatalf("%d index rows, want 2", n)
	}
}
