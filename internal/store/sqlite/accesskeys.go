package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"

	"facteur.dev/facteur/internal/store"
)

var _ store.AccessKeys = (*Store)(nil)

// accessKeySize is the size of a mailbox access key: RFC 4467 §3 asks
// for at least 128 bits; HMAC-SHA1 takes up to 512 without hashing.
const accessKeySize = 32

// migrationAccessKeys: URLAUTH mailbox access keys (accesskeys.go), one
// row per mailbox that has one, gone with the mailbox.
const migrationAccessKeys = `
CREATE TABLE access_keys (
	mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
	key        BLOB NOT NULL
);`

const (
	qAccessKey       = "SELECT key FROM access_keys WHERE mailbox_id = ?"
	qAccessKeyInsert = `INSERT INTO access_keys (mailbox_id, key) VALUES (?, ?)
	ON CONFLICT (mailbox_id) DO NOTHING`
	qAccessKeyReset = `INSERT INTO access_keys (mailbox_id, key) VALUES (?, ?)
	ON CONFLICT (mailbox_id) DO UPDATE SET key = excluded.key`
)

// MailboxAccessKey implements store.AccessKeys: a read when the key
// exists, otherwise one write that keeps the key of a concurrent caller
// if it came first.
func (s *Store) MailboxAccessKey(ctx context.Context, mailboxID int64, reset bool) ([]byte, error) {
	if !reset {
		var key []byte
		err := s.queryRow(ctx, qAccessKey, mailboxID).Scan(&key)
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	fresh := make([]byte, accessKeySize)
	rand.Read(fresh)
	q := qAccessKeyInsert
	if reset {
		q = qAccessKeyReset
	}
	var key []byte
	err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM mailboxes WHERE id = ?", mailboxID).Scan(&one); err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, q, mailboxID, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, qAccessKey, mailboxID).Scan(&key)
	})
	return key, err
}

// ResetAccessKeys implements store.AccessKeys.
func (s *Store) ResetAccessKeys(ctx context.Context, accountID int64) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"DELETE FROM access_keys WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)", accountID)
		return err
	})
}
