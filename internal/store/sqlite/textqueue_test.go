package sqlite

import (
	"testing"
	"time"

	"facteur.dev/facteur/internal/message"
)

// TestTextQueueSlicesBusyBatches: while deliveries never pause, the queue
// hands out a busy batch once the oldest entry waited textMaxWait, in
// slices of textBatchSize at least textSliceGap apart, and nothing in
// between; once deliveries pause it hands out what is left.
func TestTextQueueSlicesBusyBatches(t *testing.T) {
	q := newTextQueue()
	for range textBusyBatch + 500 {
		q.add(textItem{parsed: &message.Parsed{Text: "x"}})
	}
	now := time.Now()
	q.last = now // a delivery just arrived: busy
	q.first = now.Add(-textMaxWait / 2)
	if size, wait := q.due(now); size != 0 || wait <= 0 {
		t.Fatalf("busy, oldest not late: due = %d, %v; want a wait", size, wait)
	}
	q.first = now.Add(-textMaxWait)
	taken := 0
	for i := 0; taken < textBusyBatch; i++ {
		size, wait := q.due(now)
		if size == 0 {
			if wait <= 0 || wait > textSliceGap {
				t.Fatalf("slice %d: wait %v, want at most %v", i, wait, textSliceGap)
			}
			now = now.Add(wait)
			q.last = now
			continue
		}
		if size > textSlice {
			t.Fatalf("slice %d: %d entries, want at most %d", i, size, textSlice)
		}
		taken += len(q.pop(size))
	}
	if taken != textBusyBatch {
		t.Fatalf("busy batch: %d entries, want %d", taken, textBusyBatch)
	}
	if size, wait := q.due(now.Add(textSliceGap)); size != 0 || wait <= 0 {
		t.Fatalf("after the busy batch, still busy: due = %d, %v; want a wait", size, wait)
	}
	if size, _ := q.due(now.Add(textQuiet)); size != textBatchSize {
		t.Fatalf("once quiet: due = %d, want %d", size, textBatchSize)
	}
	if got := len(q.pop(textBatchSize)); got != textBatchSize || len(q.items) != 300 || q.bytes != 300*len(q.items[0].parsed.Text) {
		t.Fatalf("after quiet batch: popped %d, %d left (%d bytes)", got, len(q.items), q.bytes)
	}
}
