package store

import "context"

// AccessKeys keeps the mailbox access keys of IMAP URLAUTH (RFC 4467 §3):
// a random secret per mailbox, with which the server signs the URLs that
// grant access to the mailbox's messages.
type AccessKeys interface {
	// MailboxAccessKey returns the access key of a mailbox, made at
	// random the first time it is asked for. With reset, a new random key
	// replaces it (RFC 4467 §7.2, RESETKEY), so that what was signed with
	// the old one no longer verifies. The key is durable and belongs to
	// the mailbox: it goes when the mailbox is deleted, and a mailbox
	// made again under the same name gets a new one. ErrNotFound if there
	// is no such mailbox.
	MailboxAccessKey(ctx context.Context, mailboxID int64, reset bool) ([]byte, error)
	// ResetAccessKeys forgets the keys of every mailbox of the account
	// (RESETKEY without a mailbox): each gets a new one when next asked.
	ResetAccessKeys(ctx context.Context, accountID int64) error
}
