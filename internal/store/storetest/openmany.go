package storetest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// testOpenMany reads delivered small blobs (more of them than a backend
// may read in one query), a large one, one committed but not yet
// delivered, and one ID twice, in the order asked; an unknown ID fails
// the call as Open fails.
func testOpenMany(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "many")
	var bodies []string
	var msgs []store.NewMessage
	for i := range 40 {
		bodies = append(bodies, testMessage(1000+i))
		msgs = append(msgs, putBlob(t, s, a, bodies[i]))
	}
	large := "Subject: large\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 40000)
	bodies = append(bodies, large)
	msgs = append(msgs, putBlob(t, s, a, large))
	_, errs := s.Deliver(ctx, msgs)
	for _, err := range errs {
		must(t, err)
	}
	undelivered := putBlob(t, s, a, testMessage(2000))
	msgs = append(msgs, undelivered, msgs[3])
	bodies = append(bodies, testMessage(2000), bodies[3])
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.BlobID)
	}

	blobs, err := s.Blobs().OpenMany(ctx, ids)
	must(t, err)
	if len(blobs) != len(ids) {
		t.Fatalf("OpenMany of %d IDs returned %d blobs", len(ids), len(blobs))
	}
	for i, b := range blobs {
		got, err := io.ReadAll(b)
		must(t, err)
		if string(got) != bodies[i] || b.Size() != int64(len(bodies[i])) {
			t.Errorf("blob %d: read %d bytes (size %d), want %d", i, len(got), b.Size(), len(bodies[i]))
		}
		must(t, b.Close())
	}

	if _, err := s.Blobs().OpenMany(ctx, []string{ids[0], "00", ids[1]}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("OpenMany with an unknown ID: %v, want ErrNotFound", err)
	}
	if blobs, err := s.Blobs().OpenMany(ctx, nil); err != nil || len(blobs) != 0 {
		t.Fatalf("OpenMany of nothing: %v %v", blobs, err)
	}
}
