package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"facteur.dev/facteur/internal/store"
)

// Enqueue stores outbound messages durably, one row per destination domain.
func (s *Store) Enqueue(ctx context.Context, msgs []store.QueuedMessage) ([]int64, error) {
	ids := make([]int64, len(msgs))
	err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := time.Now()
		for i, m := range msgs {
			rcpts, err := json.Marshal(m.Recipients)
			if err != nil {
				return err
			}
			if m.Created.IsZero() {
				m.Created = now
			}
			if m.NextAttempt.IsZero() {
				m.NextAttempt = now
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO queue(sender, recipients, domain, blob_id, size, created,
				next_attempt, held, envid, ret) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				m.Sender, string(rcpts), m.Domain, m.BlobID, m.Size, m.Created.Unix(), m.NextAttempt.Unix(), m.Held,
				m.EnvID, m.Ret)
			if err != nil {
				return err
			}
			if ids[i], err = res.LastInsertId(); err != nil {
				return err
			}
			if _, err := s.txExec(ctx, tx, qBlobRef, m.BlobID, m.Size); err != nil {
				return err
			}
			if err := s.blobs.persist(ctx, tx, m.BlobID); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

// ListQueue returns the queue in order of next attempt.
func (s *Store) ListQueue(ctx context.Context) ([]store.QueuedMessage, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, sender, recipients, domain, blob_id, size, created, next_attempt,
		attempts, last_error, held, envid, ret FROM queue ORDER BY next_attempt, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.QueuedMessage
	for rows.Next() {
		var m store.QueuedMessage
		var rcpts string
		var created, next int64
		if err := rows.Scan(&m.ID, &m.Sender, &rcpts, &m.Domain, &m.BlobID, &m.Size, &created, &next, &m.Attempts,
			&m.LastError, &m.Held, &m.EnvID, &m.Ret); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(rcpts), &m.Recipients); err != nil {
			return nil, err
		}
		m.Created, m.NextAttempt = time.Unix(created, 0), time.Unix(next, 0)
		out = append(out, m)
	}
	return out, rows.Err()
}
