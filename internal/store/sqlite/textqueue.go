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
	// textBusyBatch is indexed per textMaxWait when deliveries never
	// pause: enough that a steady stream of mail stays searchable through
	// the index. It is written in slices of textSlice, textSliceGap
	// apart, so that no delivery waits behind more than one slice (a
	// batch of 2,000 in one write held every SMTP sender for 1.4 s).
	textBusyBatch = 2000
	textSlice     = 100
	textSliceGap  = 20 * time.Millisecond
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
	missed int       // entries dropped for lack of room (left to indexMissing)
	owed   int       // entries still to index of a busy batch, slice by slice
	taken  time.Time // when the last slice was taken
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
		n, wait := len(q.items), time.Hour
		if n > 0 {
			var size int
			if size, wait = q.due(time.Now()); size > 0 {
				batch := q.pop(min(n, size))
				q.mu.Unlock()
				return batch
			}
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-q.wake:
		case <-time.After(wait):
		}
	}
}

// due says how many entries to index now, or else how long to wait: a
// batch once deliveries paused, a slice of a busy batch when one is owed
// and the last slice was textSliceGap ago, and a new busy batch once the
// oldest entry waited textMaxWait while deliveries go on. q.mu is held.
func (q *textQueue) due(now time.Time) (int, time.Duration) {
	quiet := textQuiet - now.Sub(q.last)
	if quiet <= 0 {
		q.owed = 0
		return textBatchSize, 0
	}
	if q.owed > 0 {
		if gap := textSliceGap - now.Sub(q.taken); gap > 0 {
			return 0, min(gap, quiet)
		}
		return q.slice(now), 0
	}
	if late := textMaxWait - now.Sub(q.first); late > 0 {
		return 0, min(quiet, late)
	}
	q.owed, q.first = textBusyBatch, now
	return q.slice(now), 0
}

// slice takes one slice of the owed busy batch. q.mu is held.
func (q *textQueue) slice(now time.Time) int {
	size := min(q.owed, textSlice)
	q.owed -= size
	q.taken = now
	return size
}

// pop removes and returns the oldest size entries. q.mu is held.
func (q *textQueue) pop(size int) []textItem {
	batch := slices.Clone(q.items[:size])
	clear(q.items[:size]) // let the parsed text go once indexed
	q.items = q.items[size:]
	for _, it := range batch {
		q.bytes -= it.size
	}
	if len(q.items) == 0 {
		q.owed = 0
	}
	if q.owed == 0 {
		q.first = time.Now()
	}
	return batch
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
