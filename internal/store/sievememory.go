package store

import (
	"context"
	"strconv"
	"time"
)

// SieveMemory is what an account's Sieve script remembers from one
// delivery to the next: the message IDs its duplicate test has seen
// (RFC 7352 §3) and the senders its vacation action has answered
// (RFC 5230 §4.2), each as an opaque key until it expires.
type SieveMemory interface {
	// SieveMarked reports whether key is marked for the account and
	// has not expired at now.
	SieveMarked(ctx context.Context, accountID int64, key string, now time.Time) (bool, error)
	// MarkSieve marks keys for the account until their Expires, replacing
	// the expiry of a key already marked. Expired marks may be dropped.
	MarkSieve(ctx context.Context, accountID int64, marks []SieveMark) error
}

// SieveMark is a key remembered until Expires.
type SieveMark struct {
	Key     string
	Expires time.Time
}

// MailboxObjectID is the mailbox's MAILBOXID (RFC 8474 §4), the same in
// IMAP, Sieve's mailboxid (RFC 9042) and JMAP: stable across renames and
// never reused, since UIDVALIDITY values never are.
func MailboxObjectID(mb Mailbox) string {
	return "F" + strconv.FormatUint(uint64(mb.UIDValidity), 36) + "-" + strconv.FormatInt(mb.ID, 36)
}
