package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; PRAGMA user_version records how many
// have run. Append new ones; never edit a released one.
var migrations = []string{
	// 1: the foundation schema.
	`
CREATE TABLE domains (
	name    TEXT PRIMARY KEY,
	created INTEGER NOT NULL
);
CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	address       TEXT NOT NULL UNIQUE,
	domain        TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
	password_hash TEXT NOT NULL DEFAULT '',
	scram         TEXT NOT NULL DEFAULT '',
	quota_bytes   INTEGER NOT NULL DEFAULT 0,
	used_bytes    INTEGER NOT NULL DEFAULT 0,
	disabled      INTEGER NOT NULL DEFAULT 0,
	created       INTEGER NOT NULL
);
CREATE TABLE aliases (
	address TEXT NOT NULL,
	target  TEXT NOT NULL,
	PRIMARY KEY (address, target)
);
CREATE TABLE mailboxes (
	id            INTEGER PRIMARY KEY,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL DEFAULT 1,
	highestmodseq INTEGER NOT NULL DEFAULT 1,
	special_use   TEXT NOT NULL DEFAULT '',
	subscribed    INTEGER NOT NULL DEFAULT 0,
	messages      INTEGER NOT NULL DEFAULT 0,
	unseen        INTEGER NOT NULL DEFAULT 0,
	size          INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, name)
);
CREATE TABLE blobs (
	id   TEXT PRIMARY KEY,
	size INTEGER NOT NULL,
	refs INTEGER NOT NULL
);
CREATE TABLE messages (
	id            INTEGER PRIMARY KEY,
	mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	modseq        INTEGER NOT NULL,
	flags         TEXT NOT NULL DEFAULT '',
	seen          INTEGER NOT NULL DEFAULT 0,
	internal_date INTEGER NOT NULL,
	save_date     INTEGER NOT NULL,
	size          INTEGER NOT NULL,
	blob_id       TEXT NOT NULL,
	parsed        TEXT NOT NULL DEFAULT '',
	message_id    TEXT NOT NULL DEFAULT '',
	subject_base  TEXT NOT NULL DEFAULT '',
	sent_date     INTEGER NOT NULL DEFAULT 0,
	sort_from     TEXT NOT NULL DEFAULT '',
	sort_to       TEXT NOT NULL DEFAULT '',
	sort_cc       TEXT NOT NULL DEFAULT '',
	display_from  TEXT NOT NULL DEFAULT '',
	display_to    TEXT NOT NULL DEFAULT '',
	UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
CREATE INDEX messages_msgid ON messages (message_id);
CREATE TABLE expunged (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);
CREATE TABLE queue (
	id           INTEGER PRIMARY KEY,
	sender       TEXT NOT NULL,
	recipients   TEXT NOT NULL,
	domain       TEXT NOT NULL,
	blob_id      TEXT NOT NULL,
	size         INTEGER NOT NULL,
	created      INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	held         INTEGER NOT NULL DEFAULT 0,
	envid        TEXT NOT NULL DEFAULT '',
	ret          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX queue_next ON queue (next_attempt);
`,
	// 2: small message bytes kept inline (see InlineMax).
	`
CREATE TABLE blob_data (
	id   TEXT PRIMARY KEY,
	data BLOB NOT NULL
);
`,
	// outbound queue: per-recipient status (JSON), headers sent before the
	// blob (DKIM-Signature), MAIL parameters and the worker's lease.
	`
ALTER TABLE queue ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN headers TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
`,
	// the text index for IMAP SEARCH (textindex.go).
	migrationTextIndex,
	// a covering index for MessageStates (IMAP SELECT): reading UID,
	// MODSEQ and flags of 100,000 messages from the rows, which hold the
	// parsed structure, took ~1 s; from this index ~0.1-0.3 s.
	`CREATE INDEX messages_state ON messages (mailbox_id, uid, modseq, flags);`,
	// URLAUTH mailbox access keys (accesskeys.go).
	migrationAccessKeys,
	// thread IDs (RFC 8474 §5.2, mail.go's qInsertMessage); a message
	// stored before starts a thread of its own.
	`
ALTER TABLE messages ADD COLUMN thread_id TEXT NOT NULL DEFAULT '';
UPDATE messages SET thread_id = 'T' || printf('%x', id);
`,
	// subscriptions by name, kept when the mailbox is deleted and allowed
	// for names that do not exist (RFC 9051 §6.3.7; subscriptions.go);
	// mailboxes.subscribed is no longer read.
	`
CREATE TABLE subscriptions (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
INSERT INTO subscriptions(account_id, name) SELECT account_id, name FROM mailboxes WHERE subscribed = 1;
`,
	// high-water marks that never go back (nextSeq): mailbox and queue IDs
	// and UIDVALIDITY outlive the rows that used them, so a mailbox deleted
	// and re-created under its old name is a new mailbox to every cache
	// and client (RFC 9051 §2.3.1.1), and a queue ID names one message.
	`
CREATE TABLE sequences (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sequences(name, value) VALUES
	('mailbox', (SELECT IFNULL(MAX(id), 0) FROM mailboxes)),
	('uidvalidity', (SELECT IFNULL(MAX(uidvalidity), 0) FROM mailboxes)),
	('queue', (SELECT IFNULL(MAX(id), 0) FROM queue));
`,
	// the text index also holds each address field's address list
	// (message.Parsed.SearchHeaderText, for SEARCH FROM, TO, CC, BCC):
	// rows written before are rebuilt from the blobs, in the background
	// at start (backfillText) or at a mailbox's first search.
	`DELETE FROM message_text;`,
	// \Recent (RFC 3501 §2.3.2; recent.go): the lowest UID no IMAP session
	// has claimed, and how many messages are at or above it. The messages
	// stored before are recent to no one.
	`
ALTER TABLE mailboxes ADD COLUMN first_recent INTEGER NOT NULL DEFAULT 1;
ALTER TABLE mailboxes ADD COLUMN recent INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET first_recent = uidnext;
`,
	// 12: header field lines a message row puts before its blob's bytes
	// (store.Message.Headers); messages.size counts them.
	`ALTER TABLE messages ADD COLUMN headers TEXT NOT NULL DEFAULT '';`,
	// 13: per-account sender allow and block lists (senderrules.go).
	migrationSenderRules,
	// 14: DMARC aggregate reports, sent and received (dmarc.go).
	migrationDMARC,
	// 15: the text index merges its segments 8 at a time rather than 4
	// (textindex.go).
	migrationTextMerge,
	// 16: the zone of each INTERNALDATE, in seconds east of UTC, so that
	// an APPEND's date comes back as given (RFC 3501 §2.3.3).
	`ALTER TABLE messages ADD COLUMN internal_zone INTEGER NOT NULL DEFAULT 0;`,
	// 17: per-account Sieve scripts, at most one active (sieve.go).
	migrationSieve,
	// 18: what Sieve scripts remember: duplicate IDs, vacation replies
	// (sievememory.go).
	migrationSieveMemory,
	// 19: the transaction ID of each queue row (store.QueuedMessage.Txn),
	// the one its logs share with its receipt.
	`ALTER TABLE queue ADD COLUMN txn TEXT NOT NULL DEFAULT '';`,
}

// nextSeq advances the named high-water mark to at least floor and past
// its last value, and returns the new value.
func nextSeq(ctx context.Context, tx *sql.Tx, name string, floor int64) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, "UPDATE sequences SET value = max(value + 1, ?) WHERE name = ? RETURNING value",
		floor, name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlite: sequence %s: %w", name, err)
	}
	return v, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite migrate: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("sqlite migrate: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("sqlite: index schema version %d is newer than this facteur (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlite migration %d: %w", i+1, err)
		}
	}
	if v == len(migrations) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}
