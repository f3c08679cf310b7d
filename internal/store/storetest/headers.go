package storetest

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

// prefix is what inbound checks add before a message's bytes.
const prefix = "Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=example.org\r\n" +
	"X-Spam-Verdict: ham\r\n"

// testMessageHeaders: a message's Headers are stored per row and read
// back by every read of the row; the message (OpenMessage) is Headers
// then the blob, and its Size, the mailbox's and the quota count both;
// copies share the blob and keep the Headers, a move too; two copies of
// one blob may have different Headers; an expunge gives all the bytes
// back; the text index sees the added fields.
func testMessageHeaders(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "hdr")
	raw := testMessage(7)
	m := putBlob(t, s, a, raw)
	plain := m
	m.Headers, m.Parsed = prefix, m.Parsed.WithPrefix(prefix)
	full := int64(len(prefix)) + m.Size
	out, errs := s.Deliver(ctx, []store.NewMessage{m, plain})
	must(t, errs[0])
	must(t, errs[1])
	inbox := out[0].MailboxID

	msgs, err := s.Messages(ctx, inbox, true)
	must(t, err)
	if len(msgs) != 2 || msgs[0].Headers != prefix || msgs[0].Size != full || msgs[1].Headers != "" || msgs[1].Size != plain.Size {
		t.Fatalf("stored messages %+v, want Headers %q and size %d, then none", msgs, prefix, full)
	}
	if p := msgs[0].Parsed; p.Size != full || p.HeaderSize != int64(len(prefix))+plain.Parsed.HeaderSize {
		t.Errorf("stored Parsed: size %d, header %d", p.Size, p.HeaderSize)
	}
	checkRead(t, s, &msgs[0], prefix+raw)
	checkRead(t, s, &msgs[1], raw)
	byUID, err := s.MessagesByUID(ctx, inbox, []uint32{1}, false)
	must(t, err)
	changed, err := s.ChangedSince(ctx, inbox, 0)
	must(t, err)
	if len(byUID) != 1 || byUID[0].Headers != prefix || len(changed) != 2 || changed[0].Headers != prefix {
		t.Errorf("MessagesByUID %+v, ChangedSince %+v: Headers lost", byUID, changed)
	}
	checkUsage(t, s, a, full+plain.Size)

	arch, err := s.GetMailbox(ctx, a.ID, "Archive")
	must(t, err)
	_, err = s.CopyMessages(ctx, inbox, []uint32{1}, arch.ID, false)
	must(t, err)
	trash, err := s.GetMailbox(ctx, a.ID, "Trash")
	must(t, err)
	_, err = s.CopyMessages(ctx, inbox, []uint32{1}, trash.ID, true)
	must(t, err)
	for _, mb := range []int64{arch.ID, trash.ID} {
		got, err := s.Messages(ctx, mb, true)
		must(t, err)
		if len(got) != 1 || got[0].Headers != prefix || got[0].Size != full || got[0].Parsed.Size != full {
			t.Fatalf("copy %+v, want Headers %q, size %d", got, prefix, full)
		}
		checkRead(t, s, &got[0], prefix+raw)
	}
	checkUsage(t, s, a, 2*full+plain.Size)
	if uids, err := s.SearchText(ctx, trash.ID, store.TextHeader("X-Spam-Verdict"), "ham"); err != nil || !slices.Equal(uids, []uint32{1}) {
		t.Errorf("SearchText of an added field in a moved copy: %v %v", uids, err)
	}
	if uids, err := s.SearchText(ctx, inbox, store.TextHeader("Authentication-Results"), "spf=pass"); err != nil || len(uids) != 0 {
		t.Errorf("SearchText found an added field in the copy without it: %v %v", uids, err)
	}

	_, err = s.Expunge(ctx, trash.ID, []uint32{1})
	must(t, err)
	checkUsage(t, s, a, full+plain.Size)

	// The quota is charged the added fields too: a message whose blob
	// alone would fit is refused.
	must(t, s.SetQuota(ctx, a.Address, full+plain.Size+full-1))
	if _, errs := s.Deliver(ctx, []store.NewMessage{m}); !errors.Is(errs[0], mail.ErrQuotaFull) {
		t.Errorf("delivery past the quota by its Headers: %v, want ErrQuotaFull", errs[0])
	}
	if _, err := s.CopyMessages(ctx, arch.ID, []uint32{1}, inbox, false); !errors.Is(err, mail.ErrQuotaFull) {
		t.Errorf("copy past the quota by its Headers: %v, want ErrQuotaFull", err)
	}
	plain.Headers = "X-Short: 1\r\n"
	plain.Parsed = plain.Parsed.WithPrefix(plain.Headers)
	if _, errs := s.Deliver(ctx, []store.NewMessage{plain}); errs[0] != nil {
		t.Errorf("delivery within the quota: %v", errs[0])
	}
}

// checkRead reads a message with OpenMessage and with OpenMessages.
func checkRead(t *testing.T, s store.Store, m *store.Message, want string) {
	t.Helper()
	ctx := context.Background()
	b, err := store.OpenMessage(ctx, s.Blobs(), m)
	must(t, err)
	got, err := io.ReadAll(b)
	must(t, err)
	b.Close()
	if string(got) != want || b.Size() != int64(len(want)) {
		t.Errorf("OpenMessage read %q (size %d), want %q", got, b.Size(), want)
	}
	bs, err := store.OpenMessages(ctx, s.Blobs(), []*store.Message{m, m})
	must(t, err)
	for _, b := range bs {
		buf := make([]byte, len(want))
		n, err := b.ReadAt(buf, 0)
		if n != len(want) || string(buf) != want {
			t.Errorf("OpenMessages ReadAt: %d %v %q, want %q", n, err, buf[:n], want)
		}
		b.Close()
	}
}

// checkUsage checks the account's used bytes and the sum of its
// mailboxes' sizes.
func checkUsage(t *testing.T, s store.Store, a store.Account, used int64) {
	t.Helper()
	ctx := context.Background()
	acct, err := s.LookupAccount(ctx, a.Address)
	must(t, err)
	var all int64
	boxes, err := s.ListMailboxes(ctx, a.ID)
	must(t, err)
	for _, b := range boxes {
		all += b.Size
	}
	if acct.UsedBytes != used || all != used {
		t.Errorf("account uses %d, its mailboxes hold %d, want %d", acct.UsedBytes, all, used)
	}
}
