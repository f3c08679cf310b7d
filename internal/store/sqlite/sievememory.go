package sqlite

import (
	"context"
	"database/sql"
	"time"

	"facteur.dev/facteur/internal/store"
)

var _ store.SieveMemory = (*Store)(nil)

// migrationSieveMemory: the keys an account's Sieve script remembers
// (store.SieveMemory), gone with the account. expires is Unix seconds.
const migrationSieveMemory = `
CREATE TABLE IF NOT EXISTS sieve_marks (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	key        TEXT NOT NULL,
	expires    INTEGER NOT NULL,
	PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sieve_marks_expires ON sieve_marks(expires);`

const (
	qSieveMarked = "SELECT 1 FROM sieve_marks WHERE account_id = ? AND key = ? AND expires > ?"
	qMarkSieve   = `INSERT INTO sieve_marks (account_id, key, expires) VALUES (?, ?, ?)
	ON CONFLICT (account_id, key) DO UPDATE SET expires = excluded.expires`
	// qPruneSieve drops the account's expired marks at each write, so the
	// table stays the size of what is remembered.
	qPruneSieve = "DELETE FROM sieve_marks WHERE account_id = ? AND expires <= ?"
)

// SieveMarked implements store.SieveMemory.
func (s *Store) SieveMarked(ctx context.Context, accountID int64, key string, now time.Time) (bool, error) {
	var one int
	err := s.queryRow(ctx, qSieveMarked, accountID, key, now.Unix()).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

// MarkSieve implements store.SieveMemory.
func (s *Store) MarkSieve(ctx context.Context, accountID int64, marks []store.SieveMark) error {
	if len(marks) == 0 {
		return nil
	}
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, m := range marks {
			if _, err := tx.ExecContext(ctx, qMarkSieve, accountID, m.Key, m.Expires.Unix()); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, qPruneSieve, accountID, time.Now().Unix())
		return err
	})
}
