package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"facteur.dev/facteur/internal/store"
)

// Bits of queue.flags.
const (
	qfSMTPUTF8 = 1 << iota
	qfBody8Bit
	qfRequireTLS
	qfWarned
)

const queueCols = `id, sender, recipients, domain, blob_id, size, created, next_attempt,
	attempts, last_error, held, envid, ret, status, headers, flags, txn`

// Enqueue stores outbound messages durably, one row per destination domain.
func (s *Store) Enqueue(ctx context.Context, msgs []store.QueuedMessage) ([]int64, error) {
	var ids []int64
	err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
		ids, err = s.enqueueTx(ctx, tx, msgs)
		return err
	})
	return ids, err
}

// enqueueTx inserts queue rows in tx.
func (s *Store) enqueueTx(ctx context.Context, tx *sql.Tx, msgs []store.QueuedMessage) ([]int64, error) {
	ids := make([]int64, len(msgs))
	now := time.Now()
	for i, m := range msgs {
		rcpts, err := json.Marshal(m.Recipients)
		if err != nil {
			return nil, err
		}
		status, err := json.Marshal(fillStatus(m.Recipients, m.Status))
		if err != nil {
			return nil, err
		}
		if m.Created.IsZero() {
			m.Created = now
		}
		if m.NextAttempt.IsZero() {
			m.NextAttempt = now
		}
		if ids[i], err = nextSeq(ctx, tx, "queue", 0); err != nil {
			return nil, err
		}
		_, err = s.txExec(ctx, tx, `INSERT INTO queue(id, sender, recipients, domain, blob_id, size, created,
			next_attempt, held, envid, ret, status, headers, flags, txn) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ids[i], m.Sender, string(rcpts), m.Domain, m.BlobID, m.Size, m.Created.Unix(), m.NextAttempt.Unix(), m.Held,
			m.EnvID, m.Ret, string(status), m.Headers, queueFlags(m), m.Txn)
		if err != nil {
			return nil, err
		}
		if _, err := s.txExec(ctx, tx, qBlobRef, m.BlobID, m.Size); err != nil {
			return nil, err
		}
		if err := s.blobs.persist(ctx, tx, m.BlobID); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// fillStatus returns one status per recipient, keeping those given.
func fillStatus(rcpts []string, st []store.RecipientStatus) []store.RecipientStatus {
	out := slices.Clone(st)
	for len(out) < len(rcpts) {
		out = append(out, store.RecipientStatus{})
	}
	return out[:len(rcpts)]
}

func queueFlags(m store.QueuedMessage) int {
	f := 0
	for _, b := range []struct {
		on  bool
		bit int
	}{{m.SMTPUTF8, qfSMTPUTF8}, {m.Body8Bit, qfBody8Bit}, {m.RequireTLS, qfRequireTLS}, {m.Warned, qfWarned}} {
		if b.on {
			f |= b.bit
		}
	}
	return f
}

type scanner interface{ Scan(dest ...any) error }

func scanQueued(r scanner) (store.QueuedMessage, error) {
	var m store.QueuedMessage
	var rcpts, status string
	var created, next int64
	var flags int
	if err := r.Scan(&m.ID, &m.Sender, &rcpts, &m.Domain, &m.BlobID, &m.Size, &created, &next, &m.Attempts,
		&m.LastError, &m.Held, &m.EnvID, &m.Ret, &status, &m.Headers, &flags, &m.Txn); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(rcpts), &m.Recipients); err != nil {
		return m, err
	}
	if status != "" {
		if err := json.Unmarshal([]byte(status), &m.Status); err != nil {
			return m, err
		}
	}
	m.Status = fillStatus(m.Recipients, m.Status)
	m.Created, m.NextAttempt = time.Unix(created, 0), time.Unix(next, 0)
	m.SMTPUTF8, m.Body8Bit = flags&qfSMTPUTF8 != 0, flags&qfBody8Bit != 0
	m.RequireTLS, m.Warned = flags&qfRequireTLS != 0, flags&qfWarned != 0
	return m, nil
}

func scanQueue(rows *sql.Rows) ([]store.QueuedMessage, error) {
	defer rows.Close()
	var out []store.QueuedMessage
	for rows.Next() {
		m, err := scanQueued(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ListQueue returns the queue in order of next attempt.
func (s *Store) ListQueue(ctx context.Context) ([]store.QueuedMessage, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+queueCols+` FROM queue ORDER BY next_attempt, id`)
	if err != nil {
		return nil, err
	}
	return scanQueue(rows)
}

// GetQueued returns one queue entry.
func (s *Store) GetQueued(ctx context.Context, id int64) (store.QueuedMessage, error) {
	m, err := scanQueued(s.read.QueryRowContext(ctx, `SELECT `+queueCols+` FROM queue WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, store.ErrNotFound
	}
	return m, err
}

// ClaimQueued leases due entries to the caller until until, rounded up
// to the second so that a lease is never shorter than asked.
func (s *Store) ClaimQueued(ctx context.Context, now, until time.Time, limit int) ([]store.QueuedMessage, error) {
	var out []store.QueuedMessage
	end := until.Unix()
	if until.Nanosecond() > 0 {
		end++
	}
	err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE queue SET claimed_until = ? WHERE id IN (SELECT id FROM queue
			WHERE held = 0 AND claimed_until <= ? AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?)
			RETURNING `+queueCols, end, now.Unix(), now.Unix(), limit)
		if err != nil {
			return err
		}
		out, err = scanQueue(rows)
		return err
	})
	slices.SortFunc(out, func(a, b store.QueuedMessage) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out, err
}

// ReleaseClaims ends every lease.
func (s *Store) ReleaseClaims(ctx context.Context) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE queue SET claimed_until = 0 WHERE claimed_until <> 0`)
		return err
	})
}

// UpdateQueued records an attempt and ends the lease.
func (s *Store) UpdateQueued(ctx context.Context, m store.QueuedMessage) error {
	status, err := json.Marshal(fillStatus(m.Recipients, m.Status))
	if err != nil {
		return err
	}
	return s.queueExec(ctx, `UPDATE queue SET status = ?, attempts = ?, next_attempt = ?, last_error = ?,
		flags = ?, claimed_until = 0 WHERE id = ?`,
		string(status), m.Attempts, m.NextAttempt.Unix(), m.LastError, queueFlags(m), m.ID)
}

// HoldQueued holds or releases an entry.
func (s *Store) HoldQueued(ctx context.Context, id int64, held bool) error {
	return s.queueExec(ctx, `UPDATE queue SET held = ? WHERE id = ?`, held, id)
}

// queueExec runs one statement that must change a row.
func (s *Store) queueExec(ctx context.Context, q string, args ...any) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpErr(err, store.ErrNotFound)
		}
		return nil
	})
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// DeleteQueued removes an entry and its blob reference.
func (s *Store) DeleteQueued(ctx context.Context, id int64) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var blobID string
		err := tx.QueryRowContext(ctx, `DELETE FROM queue WHERE id = ? RETURNING blob_id`, id).Scan(&blobID)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE blobs SET refs = refs - 1 WHERE id = ?", blobID)
		return err
	})
}

// FlushQueue makes entries due now.
func (s *Store) FlushQueue(ctx context.Context, id int64, now time.Time) (int, error) {
	q, args := `UPDATE queue SET next_attempt = ? WHERE held = 0`, []any{now.Unix()}
	if id > 0 {
		q, args = `UPDATE queue SET next_attempt = ? WHERE id = ?`, append(args, id)
	}
	var n int64
	err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && id > 0 && n == 0 {
		err = store.ErrNotFound
	}
	return int(n), err
}
