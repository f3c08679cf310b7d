package storetest

import (
	"context"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

// testInternalDateZone: a message's INTERNALDATE comes back at the same
// second and in the zone it was stored with (RFC 3501 §2.3.3: APPEND's
// date-time keeps its zone), also after a copy.
func testInternalDateZone(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "zone")
	m := putBlob(t, s, a, testMessage(1))
	m.InternalDate = time.Date(2026, 11, 2, 10, 0, 0, 0, time.FixedZone("", 3600))
	out, errs := s.Deliver(ctx, []store.NewMessage{m})
	must(t, errs[0])
	mb, err := s.CreateMailbox(ctx, a.ID, "Copies", "")
	must(t, err)
	_, err = s.CopyMessages(ctx, out[0].MailboxID, []uint32{out[0].UID}, mb.ID, false)
	must(t, err)
	for _, id := range []int64{out[0].MailboxID, mb.ID} {
		msgs, err := s.Messages(ctx, id, false)
		must(t, err)
		if len(msgs) != 1 {
			t.Fatalf("mailbox %d holds %d messages", id, len(msgs))
		}
		got := msgs[0].InternalDate
		_, off := got.Zone()
		if !got.Equal(m.InternalDate) || off != 3600 {
			t.Fatalf("INTERNALDATE %v (offset %d), stored %v", got, off, m.InternalDate)
		}
	}
}
