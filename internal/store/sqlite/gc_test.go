package sqlite

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

// Expunged messages give their bytes back; bytes still referred to, and
// recent unreferenced files (a delivery may be under way), are kept.
func TestCollectGarbage(t *testing.T) {
	s, a := openWithAccount(t)
	ctx := context.Background()
	large := "Subject: big\r\n\r\n" + strings.Repeat("x", InlineMax+1)
	smallID, smallSize := commitBlob(t, s, "Subject: small\r\n\r\nhi\r\n")
	largeID, largeSize := commitBlob(t, s, large)
	keptID, keptSize := commitBlob(t, s, "Subject: kept\r\n\r\nstay\r\n")
	out, errs := s.Deliver(ctx, []store.NewMessage{
		{AccountID: a.ID, BlobID: smallID, Size: smallSize},
		{AccountID: a.ID, BlobID: largeID, Size: largeSize},
		{AccountID: a.ID, BlobID: keptID, Size: keptSize},
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	orphanID, _ := commitBlob(t, s, "Subject: refused\r\n\r\n"+strings.Repeat("y", InlineMax+1))
	recentID, _ := commitBlob(t, s, "Subject: refused too\r\n\r\n"+strings.Repeat("z", InlineMax+1))
	if _, err := s.Expunge(ctx, out[0].MailboxID, []uint32{out[0].UID, out[1].UID}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * orphanAge)
	path, _ := s.blobs.files.Path(orphanID)
	os.Chtimes(path, old, old)

	n, err := s.CollectGarbage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("removed %d blobs, want 3 (small, large, orphan)", n)
	}
	for _, id := range []string{smallID, largeID, orphanID} {
		if b, err := s.Blobs().Open(ctx, id); err == nil {
			b.Close()
			t.Errorf("blob %s still readable after collection", id[:8])
		}
	}
	for _, id := range []string{keptID, recentID} {
		b, err := s.Blobs().Open(ctx, id)
		if err != nil {
			t.Fatalf("blob %s removed: %v", id[:8], err)
		}
		b.Close()
	}
	// The same bytes delivered again are stored again.
	again, _ := commitBlob(t, s, large)
	if _, errs := s.Deliver(ctx, []store.NewMessage{{AccountID: a.ID, BlobID: again, Size: largeSize}}); errs[0] != nil {
		t.Fatalf("delivery of collected bytes, again: %v", errs[0])
	}
	b, err := s.Blobs().Open(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}

// Deleting a domain gives back the references of its accounts' messages.
func TestDeleteDomainFreesBytes(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.AddDomain(ctx, "gone.test"); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.Account{Address: "u@gone.test", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	id, size := commitBlob(t, s, "Subject: x\r\n\r\nbye\r\n")
	if _, errs := s.Deliver(ctx, []store.NewMessage{{AccountID: a.ID, BlobID: id, Size: size}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if err := s.DeleteDomain(ctx, "gone.test"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CollectGarbage(ctx); err != nil || n != 1 {
		t.Fatalf("collected %d (%v), want 1", n, err)
	}
}
