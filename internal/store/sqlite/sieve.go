package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"facteur.dev/facteur/internal/store"
)

var _ store.SieveScripts = (*Store)(nil)

// migrationSieve: an account's Sieve scripts, gone with the account. The
// partial unique index allows one active script per account and is what
// ActiveSieveScript reads on every delivery. IF NOT EXISTS lets the
// migration be renumbered and run again.
const migrationSieve = `
CREATE TABLE IF NOT EXISTS sieve_scripts (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	content    BLOB NOT NULL,
	active     INTEGER NOT NULL DEFAULT 0,
	updated    INTEGER NOT NULL,
	PRIMARY KEY (account_id, name)
);
CREATE UNIQUE INDEX IF NOT EXISTS sieve_scripts_active ON sieve_scripts(account_id) WHERE active = 1;`

const (
	qListSieve   = "SELECT name, length(content), active FROM sieve_scripts WHERE account_id = ? ORDER BY name"
	qGetSieve    = "SELECT content FROM sieve_scripts WHERE account_id = ? AND name = ?"
	qActiveSieve = "SELECT name, content FROM sieve_scripts WHERE account_id = ? AND active = 1"
	qPutSieve    = `INSERT INTO sieve_scripts (account_id, name, content, updated) VALUES (?, ?, ?, ?)
	ON CONFLICT (account_id, name) DO UPDATE SET content = excluded.content, updated = excluded.updated`
)

// ListSieveScripts implements store.SieveScripts.
func (s *Store) ListSieveScripts(ctx context.Context, accountID int64) ([]store.SieveScript, error) {
	rows, err := s.query(ctx, qListSieve, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SieveScript
	for rows.Next() {
		var sc store.SieveScript
		if err := rows.Scan(&sc.Name, &sc.Size, &sc.Active); err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// GetSieveScript implements store.SieveScripts.
func (s *Store) GetSieveScript(ctx context.Context, accountID int64, name string) ([]byte, error) {
	var content []byte
	if err := s.queryRow(ctx, qGetSieve, accountID, name).Scan(&content); err != nil {
		return nil, notFound(err)
	}
	return nonNil(content), nil
}

// ActiveSieveScript implements store.SieveScripts: one cached statement
// over the partial index, for every delivery.
func (s *Store) ActiveSieveScript(ctx context.Context, accountID int64) (string, []byte, bool, error) {
	var name string
	var content []byte
	err := s.queryRow(ctx, qActiveSieve, accountID).Scan(&name, &content)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, err
	}
	return name, nonNil(content), true, nil
}

// nonNil makes an empty script an empty slice rather than nil.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// PutSieveScript implements store.SieveScripts.
func (s *Store) PutSieveScript(ctx context.Context, accountID int64, name string, content []byte, lim store.SieveLimits) error {
	if err := store.CheckSieveName(name); err != nil {
		return err
	}
	if lim.MaxSize > 0 && int64(len(content)) > lim.MaxSize {
		return store.ErrSieveTooLarge
	}
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := accountExists(ctx, tx, accountID); err != nil {
			return err
		}
		if lim.MaxScripts > 0 {
			var n, exists int
			err := tx.QueryRowContext(ctx, "SELECT count(*), IFNULL(max(name = ?), 0) FROM sieve_scripts WHERE account_id = ?",
				name, accountID).Scan(&n, &exists)
			if err != nil {
				return err
			}
			if exists == 0 && n >= lim.MaxScripts {
				return store.ErrSieveTooMany
			}
		}
		_, err := s.txExec(ctx, tx, qPutSieve, accountID, name, nonNil(content), time.Now().Unix())
		return err
	})
}

// RenameSieveScript implements store.SieveScripts.
func (s *Store) RenameSieveScript(ctx context.Context, accountID int64, oldName, newName string) error {
	if err := store.CheckSieveName(newName); err != nil {
		return err
	}
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sieve_scripts SET name = ? WHERE account_id = ? AND name = ?",
			newName, accountID, oldName)
		return mustAffect(res, uniqueErr(err))
	})
}

// DeleteSieveScript implements store.SieveScripts.
func (s *Store) DeleteSieveScript(ctx context.Context, accountID int64, name string) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var active bool
		err := tx.QueryRowContext(ctx, "SELECT active FROM sieve_scripts WHERE account_id = ? AND name = ?",
			accountID, name).Scan(&active)
		switch {
		case err != nil:
			return notFound(err)
		case active:
			return store.ErrSieveActive
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM sieve_scripts WHERE account_id = ? AND name = ?", accountID, name)
		return err
	})
}

// SetActiveSieveScript implements store.SieveScripts. The old script is
// deactivated first: the unique index is checked row by row.
func (s *Store) SetActiveSieveScript(ctx context.Context, accountID int64, name string) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if name != "" {
			var one int
			err := tx.QueryRowContext(ctx, "SELECT 1 FROM sieve_scripts WHERE account_id = ? AND name = ?",
				accountID, name).Scan(&one)
			if err != nil {
				return notFound(err)
			}
		}
		_, err := tx.ExecContext(ctx, "UPDATE sieve_scripts SET active = 0 WHERE account_id = ? AND active = 1", accountID)
		if err != nil || name == "" {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE sieve_scripts SET active = 1 WHERE account_id = ? AND name = ?", accountID, name)
		return err
	})
}
