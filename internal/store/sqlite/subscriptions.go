package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"unicode/utf8"

	"facteur.dev/facteur/internal/store"
)

// Subscriptions are names in their own table (RFC 9051 §6.3.7): a name
// may be subscribed before its mailbox exists and stays subscribed after
// it is deleted. A mailbox row's Subscribed is read from it.

var _ store.SubscriptionLister = (*Store)(nil)

// subscribedCol is Mailbox.Subscribed in a query over mailboxes.
const subscribedCol = `EXISTS (SELECT 1 FROM subscriptions sub
	WHERE sub.account_id = mailboxes.account_id AND sub.name = mailboxes.name)`

func subscribe(ctx context.Context, tx *sql.Tx, accountID int64, name string) error {
	_, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO subscriptions(account_id, name) VALUES(?, ?)", accountID, name)
	return err
}

// SetSubscribed implements store.Mail.
func (s *Store) SetSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error {
	name = canonicalName(name)
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", accountID, name).Scan(&id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		exists := err == nil
		if subscribed {
			err = subscribe(ctx, tx, accountID, name)
		} else {
			var res sql.Result
			res, err = tx.ExecContext(ctx, "DELETE FROM subscriptions WHERE account_id = ? AND name = ?", accountID, name)
			if n, _ := res.RowsAffected(); err == nil && n == 0 && !exists {
				return store.ErrNotFound
			}
		}
		if err == nil && exists {
			s.hub.touch(accountID, id) // IMAP NOTIFY's SubscriptionChange (RFC 5465 §5.5)
		}
		return err
	})
}

// Subscriptions implements store.SubscriptionLister.
func (s *Store) Subscriptions(ctx context.Context, accountID int64) ([]string, error) {
	return scanColumn[string](s.read.QueryContext(ctx,
		"SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name", accountID))
}

// renameSubscriptions carries the subscriptions of a renamed mailbox and
// its inferiors to their new names, replacing any already there.
func renameSubscriptions(ctx context.Context, tx *sql.Tx, accountID int64, oldName, newName string) error {
	n := utf8.RuneCountInString(oldName)
	_, err := tx.ExecContext(ctx, `UPDATE OR REPLACE subscriptions SET name = ? || substr(name, ?)
		WHERE account_id = ? AND (name = ? OR substr(name, 1, ?) = ?)`,
		newName, n+1, accountID, oldName, n+1, oldName+"/")
	return err
}
