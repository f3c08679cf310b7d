package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

// testMessageKeys checks that a store.KeySource returns what package
// message computed at delivery.
func testMessageKeys(t *testing.T, s store.Store) {
	ks, ok := s.(store.KeySource)
	if !ok {
		t.Skip("no store.KeySource")
	}
	ctx := context.Background()
	a := newAccount(t, s, "keys")
	raws := []string{
		"From: \"Zed Z\" <zed@example.org>\r\nTo: Bob <bob@example.test>\r\nCc: carol@example.test\r\n" +
			"Subject: Re: [list] Hello\r\nDate: Tue, 3 Nov 2026 10:00:00 +0100\r\nMessage-ID: <b@x>\r\n" +
			"In-Reply-To: <a@x>\r\nReferences: <r@x> <a@x>\r\n\r\nbody\r\n",
		"Subject: plain\r\n\r\nno date, no addresses\r\n",
	}
	var msgs []store.NewMessage
	for _, r := range raws {
		msgs = append(msgs, putBlob(t, s, a, r))
	}
	out, errs := s.Deliver(ctx, msgs)
	for _, err := range errs {
		must(t, err)
	}
	keys, err := ks.MessageKeys(ctx, out[0].MailboxID, true)
	must(t, err)
	short, err := ks.MessageKeys(ctx, out[0].MailboxID, false)
	must(t, err)
	if len(short) != 2 || !short[0].SentDate.Equal(keys[0].SentDate) || short[0].BaseSubject != "Hello" ||
		short[0].SortCc != "carol" || short[1].UID != out[1].UID || !short[1].SentDate.IsZero() {
		t.Errorf("keys without full: %+v", short)
	}
	if len(keys) != 2 {
		t.Fatalf("%d keys, want 2", len(keys))
	}
	for i, k := range keys {
		p, m := msgs[i].Parsed, msgs[i]
		if k.SaveDate.IsZero() || time.Since(k.SaveDate) > time.Hour {
			t.Errorf("message %d: save date %v", i, k.SaveDate)
		}
		if k.UID != out[i].UID || k.Size != m.Size || k.BlobID != m.BlobID || k.InternalDate.Unix() != m.InternalDate.Unix() ||
			!k.SentDate.Equal(p.SentDate) || k.BaseSubject != p.BaseSubject || k.SubjectIsReply != p.SubjectIsReply ||
			k.SortFrom != p.SortFrom || k.SortTo != p.SortTo || k.SortCc != p.SortCc || k.DisplayFrom != p.DisplayFrom ||
			k.DisplayTo != p.DisplayTo || k.MessageID != p.MessageID || !slices.Equal(k.InReplyTo, p.InReplyTo) ||
			!slices.Equal(k.References, p.References) {
			t.Errorf("message %d: keys %+v\nparsed %+v", i, k, p)
		}
	}
	if _, off := keys[0].SentDate.Zone(); off != 3600 {
		t.Errorf("sent date zone lost: %v", keys[0].SentDate)
	}
	if !keys[0].SubjectIsReply || keys[0].BaseSubject != "Hello" || len(keys[0].References) != 2 {
		t.Errorf("threading keys %+v", keys[0])
	}
}
