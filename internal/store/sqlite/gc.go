package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"time"
)

// Garbage collection of message bytes.
//
// A blob's row in table blobs counts the messages and queue entries that
// refer to it. When that count reaches zero (every copy expunged, the
// queue entry delivered or bounced), the bytes can go. Files that never got
// a row at all (a message refused after its bytes were written: a failed
// From check, a full mailbox, a client that went away after DATA) are
// removed once they are older than orphanAge.
//
// Safety: every removal runs inside a committer write, so it is ordered
// with every delivery of this process. A delivery that would refer to
// bytes removed a moment earlier finds them missing (blobStore.mustExist)
// and fails with a temporary error instead of storing a message without
// content; small blobs are written again from memory by the delivery that
// refers to them.
const (
	gcFirst   = 5 * time.Minute
	gcEvery   = time.Hour
	orphanAge = 24 * time.Hour
	gcBatch   = 500
)

// gcLoop collects garbage periodically until ctx ends.
func (s *Store) gcLoop(ctx context.Context) {
	t := time.NewTimer(gcFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.CollectGarbage(ctx)
		t.Reset(gcEvery)
	}
}

// CollectGarbage removes the bytes of messages nothing refers to any more,
// and files older than orphanAge that never got a reference. It returns
// how many blobs it removed.
func (s *Store) CollectGarbage(ctx context.Context) (int, error) {
	n, err := s.collectUnreferenced(ctx)
	if err != nil {
		return n, err
	}
	m, err := s.collectOrphans(ctx, time.Now().Add(-orphanAge))
	return n + m, err
}

func (s *Store) collectUnreferenced(ctx context.Context) (int, error) {
	total := 0
	for {
		var ids []string
		err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var err error
			if ids, err = queryStrings(ctx, tx, "SELECT id FROM blobs WHERE refs <= 0 LIMIT ?", gcBatch); err != nil {
				return err
			}
			for _, id := range ids {
				if err := s.removeBlob(ctx, tx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || len(ids) < gcBatch {
			return total + len(ids), err
		}
		total += len(ids)
	}
}

// removeBlob deletes a blob's row, its inline bytes and its file.
func (s *Store) removeBlob(ctx context.Context, tx *sql.Tx, id string) error {
	for _, q := range []string{"DELETE FROM blob_data WHERE id = ?", "DELETE FROM blobs WHERE id = ?"} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	if err := s.blobs.files.Remove(id); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// collectOrphans removes blob files modified before cutoff that no row
// refers to.
func (s *Store) collectOrphans(ctx context.Context, cutoff time.Time) (int, error) {
	candidates, err := s.blobs.files.OlderThan(cutoff)
	if err != nil {
		return 0, err
	}
	removed := 0
	for len(candidates) > 0 {
		batch := candidates[:min(gcBatch, len(candidates))]
		candidates = candidates[len(batch):]
		err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for _, id := range batch {
				var one int
				err := tx.QueryRowContext(ctx, "SELECT 1 FROM blobs WHERE id = ?", id).Scan(&one)
				if err == nil {
					continue
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				if err := s.blobs.files.Remove(id); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				removed++
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

func queryStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
