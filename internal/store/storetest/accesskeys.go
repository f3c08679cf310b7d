package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// testAccessKeys checks the URLAUTH mailbox access keys: stable until
// reset, one per mailbox, at least 128 bits, gone with the mailbox.
func testAccessKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s, "keys-a"), newAccount(t, s, "keys-b")
	key := func(acct store.Account, name string, reset bool) []byte {
		t.Helper()
		mb, err := s.GetMailbox(ctx, acct.ID, name)
		must(t, err)
		k, err := s.MailboxAccessKey(ctx, mb.ID, reset)
		must(t, err)
		return k
	}
	inbox := key(a, "INBOX", false)
	if len(inbox) < 16 {
		t.Fatalf("key of %d bytes, want at least 16", len(inbox))
	}
	if again := key(a, "INBOX", false); !bytes.Equal(again, inbox) {
		t.Fatal("the key changed without a reset")
	}
	trash, other := key(a, "Trash", false), key(b, "INBOX", false)
	if bytes.Equal(trash, inbox) || bytes.Equal(other, inbox) {
		t.Fatal("two mailboxes share a key")
	}
	reset := key(a, "INBOX", true)
	if bytes.Equal(reset, inbox) || !bytes.Equal(key(a, "INBOX", false), reset) {
		t.Fatal("reset did not replace the key, or did not keep the new one")
	}
	must(t, s.ResetAccessKeys(ctx, a.ID))
	if k := key(a, "Trash", false); bytes.Equal(k, trash) {
		t.Fatal("ResetAccessKeys kept a key of the account")
	}
	if k := key(a, "INBOX", false); bytes.Equal(k, reset) {
		t.Fatal("ResetAccessKeys kept the INBOX key")
	}
	if k := key(b, "INBOX", false); !bytes.Equal(k, other) {
		t.Fatal("ResetAccessKeys changed another account's key")
	}

	_, err := s.CreateMailbox(ctx, a.ID, "Shared", "")
	must(t, err)
	shared := key(a, "Shared", false)
	must(t, s.DeleteMailbox(ctx, a.ID, "Shared"))
	_, err = s.CreateMailbox(ctx, a.ID, "Shared", "")
	must(t, err)
	if k := key(a, "Shared", false); bytes.Equal(k, shared) {
		t.Fatal("a mailbox made again under the same name kept the old key")
	}
	if _, err := s.MailboxAccessKey(ctx, 1<<40, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key of no mailbox: %v, want ErrNotFound", err)
	}
}
