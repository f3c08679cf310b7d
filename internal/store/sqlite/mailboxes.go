package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"unicode/utf8"
)

// errInbox refuses to delete or rename INBOX.
var errInbox = errors.New("sqlite: INBOX cannot be deleted or renamed")

// DeleteMailbox implements store.Mail. Each message goes through the same
// expunge as Expunge, so counters, quota and blob references stay right.
func (s *Store) DeleteMailbox(ctx context.Context, accountID int64, name string) error {
	name = canonicalName(name)
	if name == "INBOX" {
		return errInbox
	}
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", accountID, name).Scan(&id)
		if err != nil {
			return notFound(err)
		}
		uids, err := mailboxUIDs(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, uid := range uids {
			if err := s.expungeOne(ctx, tx, id, uid, 0); err != nil {
				return err
			}
		}
		for _, q := range []string{"DELETE FROM expunged WHERE mailbox_id = ?", "DELETE FROM mailboxes WHERE id = ?"} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		s.hub.touch(accountID, id)
		return nil
	})
}

func mailboxUIDs(ctx context.Context, tx *sql.Tx, mailboxID int64) ([]uint32, error) {
	return scanUIDs(tx.QueryContext(ctx, "SELECT uid FROM messages WHERE mailbox_id = ?", mailboxID))
}

// scanUIDs reads rows of one UID column and closes them.
func scanUIDs(rows *sql.Rows, err error) ([]uint32, error) { return scanColumn[uint32](rows, err) }

// scanColumn reads rows of one column and closes them.
func scanColumn[T any](rows *sql.Rows, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// RenameMailbox implements store.Mail in one statement: the mailbox and
// its inferiors, whose names start with old + "/". A taken name fails the
// UNIQUE constraint (ErrExists) and nothing is renamed.
func (s *Store) RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) error {
	oldName, newName = canonicalName(oldName), canonicalName(newName)
	if oldName == "INBOX" || newName == "INBOX" {
		return errInbox
	}
	n := utf8.RuneCountInString(oldName) // substr counts characters
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ids, err := scanColumn[int64](tx.QueryContext(ctx, `SELECT id FROM mailboxes
			WHERE account_id = ? AND (name = ? OR substr(name, 1, ?) = ?)`, accountID, oldName, n+1, oldName+"/"))
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE mailboxes SET name = ? || substr(name, ?)
			WHERE account_id = ? AND (name = ? OR substr(name, 1, ?) = ?)`,
			newName, n+1, accountID, oldName, n+1, oldName+"/")
		if err != nil {
			return uniqueErr(err)
		}
		if err := renameSubscriptions(ctx, tx, accountID, oldName, newName); err != nil {
			return err
		}
		for _, id := range ids {
			s.hub.touch(accountID, id)
		}
		return mustAffect(res, nil)
	})
}

// SetFlagsUnchangedSince implements store.Mail.
func (s *Store) SetFlagsUnchangedSince(ctx context.Context, mailboxID int64, uids []uint32, flags []string, op int, unchangedSince uint64) (uint64, []uint32, error) {
	return s.setFlags(ctx, mailboxID, uids, flags, op, unchangedSince)
}
