package sqlite

import (
	"context"
	"database/sql"
)

// ClaimRecent implements store.Mail. The mark and the count change in
// one write transaction of the committer, so two sessions that claim at
// once get disjoint ranges: the second reads the mark the first raised.
// Nothing is written when there is nothing to claim: a read says so
// first (the mark only rises, so a read that finds nothing to claim is
// not made wrong by a later claim).
func (s *Store) ClaimRecent(ctx context.Context, mailboxID int64, below uint32) (from, to uint32, err error) {
	var next uint32
	err = s.queryRow(ctx, "SELECT first_recent, uidnext FROM mailboxes WHERE id = ?", mailboxID).Scan(&from, &next)
	if err != nil {
		return 0, 0, notFound(err)
	}
	if min(below, next) <= from {
		return from, from, nil
	}
	// Reserved: SELECT must work on a full disk, so that mail can be
	// deleted (reserve.go).
	err = s.doReserved(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var next uint32
		err := s.txQueryRow(ctx, tx, "SELECT first_recent, uidnext FROM mailboxes WHERE id = ?", mailboxID).Scan(&from, &next)
		if err != nil {
			return notFound(err)
		}
		to = max(from, min(below, next))
		if to == from {
			return nil
		}
		_, err = s.txExec(ctx, tx, `UPDATE mailboxes SET first_recent = ?,
			recent = recent - (SELECT count(*) FROM messages WHERE mailbox_id = ? AND uid >= ? AND uid < ?) WHERE id = ?`,
			to, mailboxID, from, to, mailboxID)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return from, to, nil
}
