package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

// MessageStates read in chunks gives what the rows say.
func TestMessageStatesChunked(t *testing.T) {
	defer func(c int) { statesChunk = c }(statesChunk)
	statesChunk = 2
	s := openTest(t)
	ctx := context.Background()
	if err := s.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.Account{Address: "a@example.test", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.Blobs().Create(ctx)
	w.Write([]byte("Subject: x\r\n\r\nx\r\n"))
	id, size, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	flags := [][]string{nil, {`\Seen`}, {`$Label1`, `\Seen`}, nil, {`\Flagged`}, {`\Seen`}, nil, {`\Seen`}, nil}
	var msgs []store.NewMessage
	for _, f := range flags {
		msgs = append(msgs, store.NewMessage{AccountID: a.ID, Mailbox: "INBOX", BlobID: id, Size: size, InternalDate: time.Now(), Flags: f})
	}
	d, errs := s.Deliver(ctx, msgs)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	mbID := d[0].MailboxID
	if _, err := s.Expunge(ctx, mbID, []uint32{4}); err != nil {
		t.Fatal(err)
	}
	mb, states, err := s.MessageStates(ctx, mbID)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.Messages(ctx, mbID, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != len(rows) || len(states) != len(flags)-1 || mb.Messages != int64(len(rows)) {
		t.Fatalf("%d states, %d rows, mailbox %+v", len(states), len(rows), mb)
	}
	for i, m := range rows {
		st := states[i]
		if st.UID != m.UID || st.ModSeq != m.ModSeq || strings.Join(st.Flags, " ") != strings.Join(m.Flags, " ") {
			t.Errorf("state %+v, row UID %d MODSEQ %d flags %q", st, m.UID, m.ModSeq, m.Flags)
		}
	}
	if !slices.IsSortedFunc(states, cmpStateUID) {
		t.Fatal("not in UID order")
	}
}
