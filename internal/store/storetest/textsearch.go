package storetest

import (
	"context"
	"slices"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// textMessages are delivered in this order: UIDs 1, 2, 3.
var textMessages = []string{
	// 1: quoted-printable UTF-8 body, encoded-word subject and name.
	"From: =?UTF-8?Q?Ren=C3=A9e_Dupont?= <renee@example.org>\r\n" +
		"To: bob@example.test\r\n" +
		"Subject: =?UTF-8?B?Q2Fmw6kgbWVldGluZw==?=\r\n" +
		"X-Tracker: alpha\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Le caf=C3=A9 est pr=C3=AAt. Zebra crossing.\r\n",
	// 2: multipart with a base64 Latin-1 part and an HTML part.
	"From: Carol <carol@example.org>\r\n" +
		"To: bob@example.test\r\n" +
		"Subject: quarterly numbers\r\n" +
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"R3L832UgZmluYWxlIGV4cG9ydA==\r\n" + // "Grüße finale export" in Latin-1
		"--b\r\nContent-Type: text/html\r\n\r\n<p>Hidden<b>Bold</b>Word</p><script>zebrascript</script>\r\n--b--\r\n",
	// 3: plain, nothing in common with the others.
	"From: dave@example.org\r\nTo: bob@example.test\r\nSubject: ok\r\n\r\nxy\r\n",
}

func testTextSearch(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "text")
	var msgs []store.NewMessage
	for _, m := range textMessages {
		msgs = append(msgs, putBlob(t, s, a, m))
	}
	out, errs := s.Deliver(ctx, msgs)
	for _, err := range errs {
		must(t, err)
	}
	inbox := out[0].MailboxID
	check := func(mailbox int64, field store.TextField, needle string, want ...uint32) {
		t.Helper()
		got, err := s.SearchText(ctx, mailbox, field, needle)
		must(t, err)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("SearchText(%s, %q) = %v, want %v", field, needle, got, want)
		}
	}
	check(inbox, store.TextBody, "café est", 1)               // QP and UTF-8 decoded
	check(inbox, store.TextBody, "CAFÉ EST", 1)               // case-insensitive beyond ASCII
	check(inbox, store.TextBody, "grüße fin", 2)              // base64 and Latin-1 decoded
	check(inbox, store.TextBody, "hiddenboldword", 2)         // HTML stripped
	check(inbox, store.TextBody, "zebra", 1)                  // not in a script element
	check(inbox, store.TextBody, "meeting")                   // the subject is not the body
	check(inbox, store.TextAll, "meeting", 1)                 // TEXT sees the header
	check(inbox, store.TextAll, "zebra cross", 1)             // and the body
	check(inbox, store.TextHeader("Subject"), "CAFÉ MEET", 1) // decoded encoded-word
	check(inbox, store.TextHeader("from"), "renée", 1)        // decoded display name
	check(inbox, store.TextHeader("from"), "bob@")            // bob is in To only
	check(inbox, store.TextHeader("to"), "bob@", 1, 2, 3)
	check(inbox, store.TextHeader("X-Tracker"), "", 1) // the field exists
	check(inbox, store.TextHeaders, "x-tracker: alp", 1)
	check(inbox, store.TextBody, "xy", 3) // shorter than a trigram
	check(inbox, store.TextBody, "Y", 3)  // one letter, case-insensitive
	check(inbox, store.TextAll, "xy", 3)  // short, header or body
	check(inbox, store.TextAll, "É", 1)   // short, not ASCII: in the From name and the body
	check(inbox, store.TextHeader("subject"), "OK", 3)
	check(inbox, store.TextBody, "", 1, 2, 3) // empty matches all
	check(inbox, store.TextBody, `"quoted"`)  // FTS syntax is not interpreted
	check(inbox, store.TextBody, "nowhere to be found")

	// Copies are searchable in their mailbox; expunged messages are gone.
	trash, err := s.GetMailbox(ctx, a.ID, "Trash")
	must(t, err)
	pairs, err := s.CopyMessages(ctx, inbox, []uint32{2}, trash.ID, false)
	must(t, err)
	check(trash.ID, store.TextBody, "finale", pairs[0].Dst)
	_, err = s.Expunge(ctx, inbox, []uint32{2})
	must(t, err)
	check(inbox, store.TextBody, "finale")
	check(trash.ID, store.TextBody, "finale", pairs[0].Dst)
	moved, err := s.CopyMessages(ctx, inbox, []uint32{1}, trash.ID, true)
	must(t, err)
	check(inbox, store.TextBody, "café")
	check(trash.ID, store.TextBody, "café", moved[0].Dst)

	// A message stored after the newest messages were expunged is found
	// at once, before any deferred indexing has had time to run: a
	// backend that reuses internal row IDs must not take it for one it
	// indexed before (IMAP's live SEARCH after an APPEND, RFC 5267 §4.3).
	check(trash.ID, store.TextBody, "café", moved[0].Dst) // the mailbox is indexed up to here
	_, err = s.Expunge(ctx, trash.ID, []uint32{moved[0].Dst})
	must(t, err)
	m := putBlob(t, s, a, "From: eve@example.org\r\nSubject: late\r\n\r\nbrandnew text\r\n")
	m.Mailbox = "Trash"
	late, errs := s.Deliver(ctx, []store.NewMessage{m})
	must(t, errs[0])
	check(trash.ID, store.TextBody, "brandnew", late[0].UID)
}

// testTextSearchAfterExpunge: a message delivered right after the
// mailbox's newest one was expunged is found at once. (A backend whose
// row IDs are reused after a delete must not take the new message for
// the old one, already indexed.)
func testTextSearchAfterExpunge(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newAccount(t, s, "reuse")
	deliver := func(body string) uint32 {
		t.Helper()
		out, errs := s.Deliver(ctx, []store.NewMessage{putBlob(t, s, a, body)})
		must(t, errs[0])
		return out[0].UID
	}
	search := func(mailbox int64, needle string, want ...uint32) {
		t.Helper()
		got, err := s.SearchText(ctx, mailbox, store.TextBody, needle)
		must(t, err)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("SearchText(%q) = %v, want %v", needle, got, want)
		}
	}
	deliver("Subject: 1\r\n\r\nan aardvark\r\n")
	last := deliver("Subject: 2\r\n\r\na badger\r\n")
	inbox, err := s.GetMailbox(ctx, a.ID, "INBOX")
	must(t, err)
	search(inbox.ID, "aardvark", 1)
	search(inbox.ID, "badger", last)
	_, err = s.Expunge(ctx, inbox.ID, []uint32{last})
	must(t, err)
	uid := deliver("Subject: 3\r\n\r\na zebra\r\n")
	search(inbox.ID, "zebra", uid)
	search(inbox.ID, "badger")
	search(inbox.ID, "aardvark", 1)
}
