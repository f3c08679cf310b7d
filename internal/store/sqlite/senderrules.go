package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"facteur.dev/facteur/internal/store"
)

var _ store.SenderLists = (*Store)(nil)

// migrationSenderRules: one row per rule of an account's sender lists,
// gone with the account. IF NOT EXISTS lets the migration be renumbered
// and run again.
const migrationSenderRules = `
CREATE TABLE IF NOT EXISTS sender_rules (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	domain     TEXT NOT NULL,
	kind       TEXT NOT NULL CHECK (kind IN ('allow', 'block')),
	PRIMARY KEY (account_id, domain)
) WITHOUT ROWID;`

const (
	qSenderRules   = "SELECT kind, domain FROM sender_rules WHERE account_id = ? ORDER BY domain"
	qSetSenderRule = `INSERT INTO sender_rules (account_id, domain, kind) VALUES (?, ?, ?)
	ON CONFLICT (account_id, domain) DO UPDATE SET kind = excluded.kind`
)

// SenderRules implements store.SenderLists. It is read for every copy of
// a message that has an authenticated identity: a cached statement over
// the primary key.
func (s *Store) SenderRules(ctx context.Context, accountID int64) ([]store.SenderRule, error) {
	rows, err := s.query(ctx, qSenderRules, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SenderRule
	for rows.Next() {
		var r store.SenderRule
		if err := rows.Scan(&r.Kind, &r.Domain); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetSenderRule implements store.SenderLists.
func (s *Store) SetSenderRule(ctx context.Context, accountID int64, r store.SenderRule) error {
	if r.Kind != store.SenderAllow && r.Kind != store.SenderBlock {
		return fmt.Errorf("sqlite: sender rule kind %q is neither allow nor block", r.Kind)
	}
	if r.Domain == "" {
		return fmt.Errorf("sqlite: sender rule without a domain")
	}
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := accountExists(ctx, tx, accountID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, qSetSenderRule, accountID, r.Domain, string(r.Kind))
		return err
	})
}

// DeleteSenderRule implements store.SenderLists.
func (s *Store) DeleteSenderRule(ctx context.Context, accountID int64, domain string) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, "DELETE FROM sender_rules WHERE account_id = ? AND domain = ?", accountID, domain))
	})
}

// accountExists is ErrNotFound when there is no account id, checked in
// the transaction that adds rows of the account.
func accountExists(ctx context.Context, tx *sql.Tx, id int64) error {
	var one int
	return notFound(tx.QueryRowContext(ctx, "SELECT 1 FROM accounts WHERE id = ?", id).Scan(&one))
}
