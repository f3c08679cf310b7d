package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"time"

	"facteur.dev/facteur/internal/message"
)

// Deferred text indexing. Indexing a message's text in the delivery's own
// transaction tripled the time the committer spends per message (FTS5
// trigram tokenising runs on the single writer), which is the time every
// SMTP sender waits for its 250. So a delivery only hands the parsed text
// to this queue; a background goroutine indexes it in batches once
// deliveries pause. Nothing depends on the queue for correctness: a search
// first indexes, from the blobs, every message of its mailbox that has no
// index row yet (indexMissing), so a dropped or not yet written entry
// costs time, never a wrong answer.
const (
	textQueueMax  = 64 << 20               // bytes of text held; beyond, entries are dropped
	textQuiet     = 200 * time.Millisecond // index once deliveries pause this long
	textMaxWait   = 5 * time.Second        // … or once the oldest entry waited this long
	textBatchSize = 200
	// textBusyBatch is taken when deliveries never pause: enough that a
	// steady stream of mail stays searchable through the index, small
	// enough to hold up the committer for a fraction of textMaxWait.
	textBusyBatch = 2000
)

type textItem struct {
	mailboxID int64
	uid       uint32
	blobID    string
	parsed    *message.Parsed
	size      int
}

type textQueue struct {
	mu     sync.Mutex
	items  []textItem
	bytes  int
	first  time.Time // when the oldest waiting entry arrived
	last   time.Time // when the newest arrived
	wake   chan struct{}
	missed int // entries dropped for lack of room (left to indexMissing)
}

func newTextQueue() *textQueue { return &textQueue{wake: make(chan struct{}, 1)} }

// add queues a delivered message's text. The entry names the message by
// mailbox, UID and blob, so a delivery whose transaction failed (and whose
// UID may be given to another message) indexes nothing.
func (q *textQueue) add(it textItem) {
	it.size = len(it.parsed.Text) + 64*len(it.parsed.Headers)
	q.mu.Lock()
	now := time.Now()
	if q.bytes+it.size > textQueueMax {
		q.missed++
		q.mu.Unlock()
		return
	}
	if len(q.items) == 0 {
		q.first = now
	}
	q.items = append(q.items, it)
	q.bytes += it.size
	q.last = now
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take waits until the queue has entries and deliveries have paused (or
// the oldest entry waited long enough), then returns up to a batch.
func (q *textQueue) take(ctx context.Context) []textItem {
	for {
		q.mu.Lock()
		n := len(q.items)
		wait := time.Duration(0)
		if n > 0 {
			now := time.Now()
			quiet, late := textQuiet-now.Sub(q.last), textMaxWait-now.Sub(q.first)
			wait = min(quiet, late)
			if wait <= 0 {
				size := textBatchSize
				if quiet > 0 { // still busy: the oldest entry waited too long
					size = textBusyBatch
				}
				size = min(n, size)
				batch := slices.Clone(q.items[:size])
				clear(q.items[:size]) // let the parsed text go once indexed
				q.items = q.items[size:]
				for _, it := range batch {
					q.bytes -= it.size
				}
				q.first = time.Now()
				q.mu.Unlock()
				return batch
			}
		}
		q.mu.Unlock()
		if n == 0 {
			wait = time.Hour
		}
		select {
		case <-ctx.Done():
			return nil
		case <-q.wake:
		case <-time.After(wait):
		}
	}
}

// run indexes queued text until ctx ends. Once the queue is empty after
// it had to drop entries, the messages it dropped are indexed from their
// blobs (backfillText), so the index catches up when the load subsides.
func (q *textQueue) run(ctx context.Context, s *Store) {
	for {
		batch := q.take(ctx)
		if batch == nil {
			return
		}
		s.writeQueuedText(ctx, batch)
		if q.emptyAfterDrops() {
			s.backfillText(ctx)
		}
	}
}

// emptyAfterDrops reports, once, that the queue is empty and entries were
// dropped since the last time.
func (q *textQueue) emptyAfterDrops() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 || q.missed == 0 {
		return false
	}
	q.missed = 0
	return true
}

// drain removes and returns every queued entry.
func (q *textQueue) drain() []textItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	all := q.items
	q.items, q.bytes = nil, 0
	return all
}

// writeQueuedText indexes a batch in one committer write. A failure
// leaves the messages to indexMissing.
func (s *Store) writeQueuedText(ctx context.Context, batch []textItem) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, it := range batch {
			if _, err := tx.ExecContext(ctx, qIndexQueued, it.parsed.SearchHeaderText(), it.parsed.BodyText(),
				it.mailboxID, it.uid, it.blobID); err != nil {
				return err
			}
		}
		return nil
	})
}

const qIndexQueued = `INSERT INTO message_text(rowid, header, body)
	SELECT id, ?, ? FROM messages m WHERE mailbox_id = ? AND uid = ? AND blob_id = ?
	AND NOT EXISTS (SELECT 1 FROM message_text_docsize d WHERE d.id = m.id)`
