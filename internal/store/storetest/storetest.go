// Package storetest is the conformance suite of the store contract. Every
// backend runs it unchanged from its own tests:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, newStore) }
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// Opener returns a fresh, empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Domains", testDomains},
		{"Accounts", testAccounts},
		{"Aliases", testAliases},
		{"Blobs", testBlobs},
		{"LargeBlobDelivered", testLargeBlob},
		{"OpenMany", testOpenMany},
		{"DeliverAndCounters", testDeliver},
		{"Quota", testQuota},
		{"ConcurrentDeliveries", testConcurrent},
		{"FlagsAndModSeq", testFlags},
		{"ExpungeAndVanished", testExpunge},
		{"UIDValidityNeverReused", testUIDValidity},
		{"Queue", testQueue},
		{"QueueLifecycle", testQueueLifecycle},
		{"DeliverAndEnqueue", testDeliverAndEnqueue},
		{"CopyAndMove", testCopyMove},
		{"MessageHeaders", testMessageHeaders},
		{"InternalDateZone", testInternalDateZone},
		{"WatchAndChangedSince", testWatch},
		{"WatchMailboxChanges", testWatchMailboxes},
		{"TextSearch", testTextSearch},
		{"TextSearchAfterExpunge", testTextSearchAfterExpunge},
		{"MessageKeys", testMessageKeys},
		{"ThreadIDs", testThreadIDs},
		{"AccessKeys", testAccessKeys},
		{"SenderRules", testSenderRules},
		{"SieveScripts", testSieveScripts},
		{"SieveLimits", testSieveLimits},
		{"SieveMemory", testSieveMemory},
		{"DMARCRecords", testDMARCRecords},
		{"DMARCReports", testDMARCReports},
	}
	tests = append(tests, mailboxTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newAccount makes domain example.test and an account in it.
func newAccount(t *testing.T, s store.Store, local string) store.Account {
	t.Helper()
	ctx := context.Background()
	if err := s.AddDomain(ctx, "example.test"); err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.Account{Address: local + "@example.test", PasswordHash: "h"})
	must(t, err)
	return a
}

// putBlob stores body and returns a NewMessage for account a.
func putBlob(t *testing.T, s store.Store, a store.Account, body string) store.NewMessage {
	t.Helper()
	w, err := s.Blobs().Create(context.Background())
	must(t, err)
	_, err = io.WriteString(w, body)
	must(t, err)
	id, size, err := w.Commit()
	must(t, err)
	p, err := message.Parse(bytes.NewReader([]byte(body)))
	must(t, err)
	return store.NewMessage{AccountID: a.ID, BlobID: id, Size: size, Parsed: p, InternalDate: time.Now()}
}

func testMessage(n int) string {
	return fmt.Sprintf("From: a@example.org\r\nTo: b@example.test\r\nSubject: test %d\r\nMessage-ID: <%d@example.org>\r\n\r\nbody %d\r\n", n, n, n)
}

func testDomains(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.AddDomain(ctx, "b.test"))
	must(t, s.AddDomain(ctx, "a.test"))
	if err := s.AddDomain(ctx, "a.test"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate domain: got %v, want ErrExists", err)
	}
	got, err := s.ListDomains(ctx)
	must(t, err)
	if !slices.Equal(got, []string{"a.test", "b.test"}) {
		t.Fatalf("ListDomains = %v", got)
	}
	if ok, _ := s.HasDomain(ctx, "a.test"); !ok {
		t.Fatal("HasDomain(a.test) = false")
	}
	must(t, s.AddAlias(ctx, "x@a.test", []string{"y@b.test"}))
	must(t, s.AddAlias(ctx, "x@aa.test", []string{"y@b.test"}))
	must(t, s.DeleteDomain(ctx, "a.test"))
	if ok, _ := s.HasDomain(ctx, "a.test"); ok {
		t.Fatal("deleted domain still there")
	}
	if _, err := s.AliasTargets(ctx, "x@a.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alias of a deleted domain: %v", err)
	}
	if _, err := s.AliasTargets(ctx, "x@aa.test"); err != nil {
		t.Fatalf("alias of another domain deleted with a.test: %v", err)
	}
	if err := s.DeleteDomain(ctx, "nope.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete unknown domain: %v", err)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, store.Account{Address: "x@nodomain.test"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account in unknown domain: %v", err)
	}
	a := newAccount(t, s, "Alice")
	if a.Address != "alice@example.test" || a.ID == 0 {
		t.Fatalf("created %+v", a)
	}
	if _, err := s.CreateAccount(ctx, store.Account{Address: "alice@example.test"}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate account: %v", err)
	}
	got, err := s.LookupAccount(ctx, "ALICE@example.test")
	must(t, err)
	if got.ID != a.ID || got.PasswordHash != "h" {
		t.Fatalf("lookup %+v", got)
	}
	must(t, s.SetPassword(ctx, "alice@example.test", "h2", "s2"))
	got, _ = s.LookupAccount(ctx, "alice@example.test")
	if got.PasswordHash != "h2" || got.SCRAM != "s2" {
		t.Fatalf("after SetPassword %+v", got)
	}
	must(t, s.SetDisabled(ctx, "Alice@example.test", true))
	if got, _ = s.LookupAccount(ctx, "alice@example.test"); !got.Disabled {
		t.Fatal("SetDisabled(true) left the account enabled")
	}
	must(t, s.SetDisabled(ctx, "alice@example.test", false))
	if got, _ = s.LookupAccount(ctx, "alice@example.test"); got.Disabled {
		t.Fatal("SetDisabled(false) left the account disabled")
	}
	if err := s.SetDisabled(ctx, "nobody@example.test", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetDisabled of no account: %v", err)
	}
	mbs, err := s.ListMailboxes(ctx, a.ID)
	must(t, err)
	var names []string
	for _, mb := range mbs {
		names = append(names, mb.Name+":"+mb.SpecialUse)
	}
	want := []string{"INBOX:", `Archive:\Archive`, `Drafts:\Drafts`, `Junk:\Junk`, `Sent:\Sent`, `Trash:\Trash`}
	if !slices.Equal(names, want) {
		t.Fatalf("default mailboxes %v, want %v", names, want)
	}
	list, err := s.ListAccounts(ctx, "example.test")
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("ListAccounts = %v", list)
	}
	must(t, s.DeleteAccount(ctx, "alice@example.test"))
	if _, err := s.LookupAccount(ctx, "alice@example.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted account: %v", err)
	}
}

func testAliases(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.AddAlias(ctx, "Postmaster@example.test", []string{"alice@example.test", "bob@remote.test"}))
	must(t, s.AddAlias(ctx, "@example.test", []string{"alice@example.test"}))
	got, err := s.AliasTargets(ctx, "postmaster@example.test")
	must(t, err)
	if !slices.Equal(got, []string{"alice@example.test", "bob@remote.test"}) {
		t.Fatalf("targets %v", got)
	}
	if _, err := s.AliasTargets(ctx, "nobody@example.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing alias: %v", err)
	}
	all, err := s.ListAliases(ctx)
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("ListAliases %v", all)
	}
	must(t, s.DeleteAlias(ctx, "postmaster@example.test"))
	if _, err := s.AliasTargets(ctx, "postmaster@example.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted alias: %v", err)
	}
}

func testBlobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	ids := make([]string, 2)
	for i := range ids {
		w, err := s.Blobs().Create(ctx)
		must(t, err)
		io.WriteString(w, "same bytes\r\n")
		ids[i], _, err = w.Commit()
		must(t, err)
	}
	if ids[0] != ids[1] {
		t.Fatalf("same content, different IDs %v", ids)
	}
	b, err := s.Blobs().Open(ctx, ids[0])
	must(t, err)
	defer b.Close()
	got, _ := io.ReadAll(b)
	if string(got) != "same bytes\r\n" || b.Size() != 12 {
		t.Fatalf("read back %q size %d", got, b.Size())
	}
	w, _ := s.Blobs().Create(ctx)
	io.WriteString(w, "aborted")
	must(t, w.Abort())
	if _, err := s.Blobs().Open(ctx, "00"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bad id: %v", err)
	}
}

// testLargeBlob stores a message larger than any backend keeps inline and
// reads it back through a delivery.
func testLargeBlob(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "large")
	body := "Subject: large\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 40000)
	m := putBlob(t, s, a, body)
	if m.Size != int64(len(body)) {
		t.Fatalf("size %d, want %d", m.Size, len(body))
	}
	out, errs := s.Deliver(ctx, []store.NewMessage{m})
	must(t, errs[0])
	msgs, err := s.Messages(ctx, out[0].MailboxID, false)
	must(t, err)
	b, err := s.Blobs().Open(ctx, msgs[0].BlobID)
	must(t, err)
	defer b.Close()
	got, err := io.ReadAll(b)
	must(t, err)
	if string(got) != body || b.Size() != int64(len(body)) {
		t.Fatalf("read back %d bytes, want %d", len(got), len(body))
	}
	part := make([]byte, 10)
	if _, err := b.ReadAt(part, 18); err != nil || string(part) != "0123456789" {
		t.Fatalf("ReadAt: %q %v", part, err)
	}
}

func testDeliver(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "alice")
	m1, m2 := putBlob(t, s, a, testMessage(1)), putBlob(t, s, a, testMessage(2))
	m2.Flags = []string{`\seen`, "$Important"}
	out, errs := s.Deliver(ctx, []store.NewMessage{m1, m2})
	for _, err := range errs {
		must(t, err)
	}
	if out[0].UID == out[1].UID || out[0].MailboxID != out[1].MailboxID {
		t.Fatalf("delivered %+v", out)
	}
	inbox, err := s.GetMailbox(ctx, a.ID, "inbox")
	must(t, err)
	if inbox.Messages != 2 || inbox.Unseen != 1 || inbox.UIDNext != 3 || inbox.Size != m1.Size+m2.Size {
		t.Fatalf("INBOX %+v", inbox)
	}
	msgs, err := s.Messages(ctx, inbox.ID, true)
	must(t, err)
	if len(msgs) != 2 || msgs[0].UID != 1 || msgs[1].UID != 2 {
		t.Fatalf("messages %+v", msgs)
	}
	if !slices.Equal(msgs[1].Flags, []string{"$Important", `\Seen`}) {
		t.Fatalf("flags %v", msgs[1].Flags)
	}
	if msgs[0].Parsed == nil || msgs[0].Parsed.Envelope.Subject != "test 1" || msgs[0].Parsed.MessageID == "" {
		t.Fatalf("parsed data not kept: %+v", msgs[0].Parsed)
	}
	acct, _ := s.LookupAccount(ctx, a.Address)
	if acct.UsedBytes != m1.Size+m2.Size {
		t.Fatalf("used bytes %d", acct.UsedBytes)
	}
}

func testQuota(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "q")
	m := putBlob(t, s, a, testMessage(1))
	must(t, s.SetQuota(ctx, a.Address, m.Size*2))
	_, errs := s.Deliver(ctx, []store.NewMessage{m, m, m})
	full := 0
	for _, err := range errs {
		if errors.Is(err, mail.ErrQuotaFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if full != 1 {
		t.Fatalf("quota: %v, want exactly one ErrQuotaFull", errs)
	}
	inbox, _ := s.GetMailbox(ctx, a.ID, "INBOX")
	if inbox.Messages != 2 {
		t.Fatalf("messages after quota %d", inbox.Messages)
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "c")
	const n = 50
	var wg sync.WaitGroup
	uids := make(chan uint32, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, errs := s.Deliver(ctx, []store.NewMessage{putBlob(t, s, a, testMessage(i))})
			if errs[0] != nil {
				t.Error(errs[0])
				return
			}
			uids <- out[0].UID
		}(i)
	}
	wg.Wait()
	close(uids)
	seen := map[uint32]bool{}
	for u := range uids {
		if seen[u] {
			t.Fatalf("UID %d given twice", u)
		}
		seen[u] = true
	}
	inbox, _ := s.GetMailbox(ctx, a.ID, "INBOX")
	if inbox.Messages != n || len(seen) != n {
		t.Fatalf("got %d messages, %d uids", inbox.Messages, len(seen))
	}
}

func testFlags(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "f")
	out, _ := s.Deliver(ctx, []store.NewMessage{putBlob(t, s, a, testMessage(1))})
	mb := out[0].MailboxID
	m1, err := s.SetFlags(ctx, mb, []uint32{out[0].UID}, []string{`\Seen`}, 1)
	must(t, err)
	if m1 <= out[0].ModSeq {
		t.Fatalf("MODSEQ did not rise: %d after %d", m1, out[0].ModSeq)
	}
	inbox, _ := s.GetMailbox(ctx, a.ID, "INBOX")
	if inbox.Unseen != 0 || inbox.HighestModSeq != m1 {
		t.Fatalf("after \\Seen: %+v", inbox)
	}
	m2, err := s.SetFlags(ctx, mb, []uint32{out[0].UID}, []string{`\Seen`}, -1)
	must(t, err)
	msgs, _ := s.Messages(ctx, mb, false)
	if m2 <= m1 || len(msgs[0].Flags) != 0 || msgs[0].ModSeq != m2 {
		t.Fatalf("after -\\Seen: modseq %d, msg %+v", m2, msgs[0])
	}
	// Degenerate flags from a client are ignored, not a crash.
	_, err = s.SetFlags(ctx, mb, []uint32{out[0].UID}, []string{`\`, "", `\flagged`}, 1)
	must(t, err)
	msgs, _ = s.Messages(ctx, mb, false)
	if !slices.Equal(msgs[0].Flags, []string{`\Flagged`}) {
		t.Fatalf("flags %q, want [\\Flagged]", msgs[0].Flags)
	}
}

func testExpunge(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "e")
	var mb int64
	for i := 0; i < 3; i++ {
		out, _ := s.Deliver(ctx, []store.NewMessage{putBlob(t, s, a, testMessage(i))})
		mb = out[0].MailboxID
	}
	before, _ := s.GetMailbox(ctx, a.ID, "INBOX")
	ms, err := s.Expunge(ctx, mb, []uint32{1, 3})
	must(t, err)
	if ms <= before.HighestModSeq {
		t.Fatalf("expunge modseq %d not above %d", ms, before.HighestModSeq)
	}
	v, err := s.Vanished(ctx, mb, before.HighestModSeq)
	must(t, err)
	if !slices.Equal(v, []uint32{1, 3}) {
		t.Fatalf("vanished %v", v)
	}
	if v, _ := s.Vanished(ctx, mb, ms); len(v) != 0 {
		t.Fatalf("vanished since %d: %v", ms, v)
	}
	after, _ := s.GetMailbox(ctx, a.ID, "INBOX")
	if after.Messages != 1 || after.UIDNext != 4 {
		t.Fatalf("after expunge %+v", after)
	}
	out, _ := s.Deliver(ctx, []store.NewMessage{putBlob(t, s, a, testMessage(9))})
	if out[0].UID != 4 {
		t.Fatalf("UID reused: %d", out[0].UID)
	}
}

func testUIDValidity(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "u")
	mb1, err := s.CreateMailbox(ctx, a.ID, "Projects", "")
	must(t, err)
	if _, err := s.CreateMailbox(ctx, a.ID, "Projects", ""); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate mailbox: %v", err)
	}
	all, _ := s.ListMailboxes(ctx, a.ID)
	seen := map[uint32]bool{}
	for _, mb := range all {
		if seen[mb.UIDValidity] {
			t.Fatalf("UIDVALIDITY %d used twice", mb.UIDValidity)
		}
		seen[mb.UIDValidity] = true
	}
	if mb1.UIDValidity == 0 {
		t.Fatal("zero UIDVALIDITY")
	}
	testRecreatedMailbox(t, s, a, mb1)
}

// testRecreatedMailbox: a mailbox deleted and created again under its old
// name, within the same second, is a new mailbox: a new ID (caches keyed
// by it must miss), a greater UIDVALIDITY, no messages (RFC 9051 §2.3.1.1).
func testRecreatedMailbox(t *testing.T, s store.Store, a store.Account, old store.Mailbox) {
	ctx := context.Background()
	for i := range 2 {
		m := putBlob(t, s, a, testMessage(i))
		m.Mailbox = old.Name
		_, errs := s.Deliver(ctx, []store.NewMessage{m})
		must(t, errs[0])
	}
	must(t, s.DeleteMailbox(ctx, a.ID, old.Name))
	mb, err := s.CreateMailbox(ctx, a.ID, old.Name, "")
	must(t, err)
	if mb.ID == old.ID || mb.UIDValidity <= old.UIDValidity {
		t.Fatalf("re-created mailbox %+v reuses the deleted %+v", mb, old)
	}
	msgs, err := s.Messages(ctx, mb.ID, false)
	must(t, err)
	got, err := s.GetMailbox(ctx, a.ID, old.Name)
	must(t, err)
	if len(msgs) != 0 || got.Messages != 0 || got.UIDNext != 1 || got.ID != mb.ID {
		t.Fatalf("re-created mailbox has %d messages, %+v", len(msgs), got)
	}
}

func testQueue(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "s")
	m := putBlob(t, s, a, testMessage(1))
	ids, err := s.Enqueue(ctx, []store.QueuedMessage{
		{Sender: "s@example.test", Recipients: []string{"x@remote.test", "y@remote.test"}, Domain: "remote.test", BlobID: m.BlobID, Size: m.Size,
			Txn: "txn1"},
		{Sender: "s@example.test", Recipients: []string{"z@other.test"}, Domain: "other.test", BlobID: m.BlobID, Size: m.Size},
	})
	must(t, err)
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("ids %v", ids)
	}
	q, err := s.ListQueue(ctx)
	must(t, err)
	if len(q) != 2 || !slices.Equal(q[0].Recipients, []string{"x@remote.test", "y@remote.test"}) || q[1].Domain != "other.test" ||
		q[0].Txn != "txn1" || q[1].Txn != "" {
		t.Fatalf("queue %+v", q)
	}
	// A queue ID names one message for good: deleting the newest entry
	// does not give its ID to the next one.
	must(t, s.DeleteQueued(ctx, ids[1]))
	again, err := s.Enqueue(ctx, []store.QueuedMessage{{Sender: "s@example.test", Recipients: []string{"z@other.test"},
		Domain: "other.test", BlobID: m.BlobID, Size: m.Size}})
	must(t, err)
	if again[0] <= ids[1] {
		t.Fatalf("queue ID %d reused after %v", again[0], ids)
	}
	must(t, s.DeleteQueued(ctx, again[0]))
}

func testCopyMove(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "cm")
	var inbox int64
	for i := 0; i < 3; i++ {
		m := putBlob(t, s, a, testMessage(i))
		m.Flags = []string{`\Flagged`}
		out, errs := s.Deliver(ctx, []store.NewMessage{m})
		must(t, errs[0])
		inbox = out[0].MailboxID
	}
	arch, err := s.GetMailbox(ctx, a.ID, "Archive")
	must(t, err)
	pairs, err := s.CopyMessages(ctx, inbox, []uint32{3, 1, 99}, arch.ID, false)
	must(t, err)
	if !slices.Equal(pairs, []store.UIDPair{{Src: 1, Dst: 1}, {Src: 3, Dst: 2}}) {
		t.Fatalf("copy pairs %v", pairs)
	}
	before, _ := s.LookupAccount(ctx, a.Address)
	msgs, _ := s.Messages(ctx, arch.ID, true)
	if len(msgs) != 2 || !slices.Equal(msgs[0].Flags, []string{`\Flagged`}) || msgs[1].Parsed.Envelope.Subject != "test 2" {
		t.Fatalf("copied messages %+v", msgs)
	}
	trash, _ := s.GetMailbox(ctx, a.ID, "Trash")
	pairs, err = s.CopyMessages(ctx, inbox, []uint32{2}, trash.ID, true)
	must(t, err)
	if !slices.Equal(pairs, []store.UIDPair{{Src: 2, Dst: 1}}) {
		t.Fatalf("move pairs %v", pairs)
	}
	after, _ := s.LookupAccount(ctx, a.Address)
	if after.UsedBytes != before.UsedBytes {
		t.Fatalf("move changed usage %d -> %d", before.UsedBytes, after.UsedBytes)
	}
	in, _ := s.GetMailbox(ctx, a.ID, "INBOX")
	if in.Messages != 2 {
		t.Fatalf("INBOX after move has %d", in.Messages)
	}
	if v, _ := s.Vanished(ctx, inbox, 0); !slices.Equal(v, []uint32{2}) {
		t.Fatalf("vanished after move %v", v)
	}

	// An account already over its quota (the administrator lowered it)
	// may still move mail, not copy it.
	must(t, s.SetQuota(ctx, a.Address, 1))
	if _, err := s.CopyMessages(ctx, inbox, []uint32{1}, trash.ID, false); !errors.Is(err, mail.ErrQuotaFull) {
		t.Fatalf("copy over quota: %v, want ErrQuotaFull", err)
	}
	if _, err := s.CopyMessages(ctx, inbox, []uint32{1}, trash.ID, true); err != nil {
		t.Fatalf("move over quota: %v", err)
	}
	if over, _ := s.LookupAccount(ctx, a.Address); over.UsedBytes != before.UsedBytes {
		t.Fatalf("move over quota changed usage %d -> %d", before.UsedBytes, over.UsedBytes)
	}
}

func testWatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "w")
	other := newAccount(t, s, "other")
	wake, stop := s.Watch(a.ID)
	defer stop()
	out, errs := s.Deliver(ctx, []store.NewMessage{putBlob(t, s, a, testMessage(1))})
	must(t, errs[0])
	s.Deliver(ctx, []store.NewMessage{putBlob(t, s, other, testMessage(2))})
	select {
	case mb := <-wake:
		if mb != out[0].MailboxID {
			t.Fatalf("woken for mailbox %d, want %d", mb, out[0].MailboxID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after a delivery")
	}
	inbox, _ := s.GetMailbox(ctx, a.ID, "INBOX")
	ms, err := s.SetFlags(ctx, inbox.ID, []uint32{1}, []string{`\Seen`}, 1)
	must(t, err)
	<-wake
	changed, err := s.ChangedSince(ctx, inbox.ID, inbox.HighestModSeq)
	must(t, err)
	if len(changed) != 1 || changed[0].ModSeq != ms || !slices.Equal(changed[0].Flags, []string{`\Seen`}) {
		t.Fatalf("ChangedSince %+v", changed)
	}
	byUID, err := s.MessagesByUID(ctx, inbox.ID, []uint32{1, 7}, true)
	must(t, err)
	if len(byUID) != 1 || byUID[0].UID != 1 || byUID[0].Parsed == nil {
		t.Fatalf("MessagesByUID %+v", byUID)
	}
	if c, _ := s.ChangedSince(ctx, inbox.ID, ms); len(c) != 0 {
		t.Fatalf("nothing changed since %d, got %+v", ms, c)
	}
	select {
	case mb := <-wake:
		t.Fatalf("woken for mailbox %d by another account's change or twice", mb)
	default:
	}
}
