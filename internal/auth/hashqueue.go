package auth

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
)

// errQueueFull is returned by hashQueue.acquire when no waiting room is
// left for the caller; CheckPassword answers it as ErrTooManyFailures.
var errQueueFull = errors.New("auth: password check queue full")

// hashQueue hands out the slots in which argon2id runs (each needs
// Params.Memory, so their number bounds the memory of hashing) to the
// logins waiting for one, fairly:
//
//   - sources that are not failing (lane 0) are served before sources
//     that are (lane 1: failures in the window, or another attempt in
//     flight), so a guess flood cannot delay a real user by more than the
//     hashes already running;
//   - within a lane, sources take turns (round robin by source network),
//     so one busy network does not starve the others of its lane;
//   - at most maxWaiting logins wait: beyond, a failing source is refused
//     at once, and a login from a source that is not failing takes the
//     place of the newest failing waiter, which is refused.
type hashQueue struct {
	maxWaiting int

	mu       sync.Mutex
	free     int // idle slots
	waiting  int
	arrivals int // calls of acquire, for tests
	lanes    [2]lane
}

// waiter is one login waiting for a slot. granted is closed when it gets
// one, or with refused set when it is pushed out of the queue.
type waiter struct {
	src     netip.Prefix
	lane    int
	granted chan struct{}
	refused bool
}

func newHashQueue(slots, maxWaiting int) *hashQueue {
	q := &hashQueue{maxWaiting: maxWaiting, free: slots}
	for i := range q.lanes {
		q.lanes[i].bySrc = make(map[netip.Prefix][]*waiter)
	}
	return q
}

// acquire waits for a slot for a login from src; failing selects the
// second lane. A nil error must be followed by one release.
func (q *hashQueue) acquire(ctx context.Context, src netip.Prefix, failing bool) error {
	q.mu.Lock()
	q.arrivals++
	if q.free > 0 && q.waiting == 0 {
		q.free--
		q.mu.Unlock()
		return nil
	}
	if q.waiting >= q.maxWaiting && (failing || !q.pushOutFailing()) {
		q.mu.Unlock()
		return errQueueFull
	}
	w := &waiter{src: src, granted: make(chan struct{})}
	if failing {
		w.lane = 1
	}
	q.lanes[w.lane].push(w)
	q.waiting++
	q.mu.Unlock()

	select {
	case <-w.granted:
		if w.refused {
			return errQueueFull
		}
		return nil
	case <-ctx.Done():
		q.abandon(w)
		return ctx.Err()
	}
}

// abandon takes w out of the queue after its context ended, giving back
// the slot if it was granted meanwhile.
func (q *hashQueue) abandon(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-w.granted:
		if !w.refused {
			q.releaseLocked()
		}
	default:
		q.lanes[w.lane].remove(w)
		q.waiting--
	}
}

// pushOutFailing refuses the newest waiter of the failing lane, making
// room for one more; false if that lane is empty.
func (q *hashQueue) pushOutFailing() bool {
	w := q.lanes[1].popNewest()
	if w == nil {
		return false
	}
	w.refused = true
	close(w.granted)
	q.waiting--
	return true
}

// release gives a slot back, to the next waiter if there is one.
func (q *hashQueue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.releaseLocked()
}

func (q *hashQueue) releaseLocked() {
	for i := range q.lanes {
		if w := q.lanes[i].pop(); w != nil {
			q.waiting--
			close(w.granted)
			return
		}
	}
	q.free++
}

// lane is a round robin over sources, each with its waiters in arrival
// order. Not safe for concurrent use; hashQueue.mu guards it.
type lane struct {
	srcs  []netip.Prefix // sources with waiters, next to serve first
	bySrc map[netip.Prefix][]*waiter
}

func (l *lane) push(w *waiter) {
	if len(l.bySrc[w.src]) == 0 {
		l.srcs = append(l.srcs, w.src)
	}
	l.bySrc[w.src] = append(l.bySrc[w.src], w)
}

// pop takes the oldest waiter of the next source and moves that source to
// the back of the turn.
func (l *lane) pop() *waiter {
	if len(l.srcs) == 0 {
		return nil
	}
	src := l.srcs[0]
	l.srcs = slices.Delete(l.srcs, 0, 1)
	ws := l.bySrc[src]
	w := ws[0]
	if len(ws) == 1 {
		delete(l.bySrc, src)
	} else {
		l.bySrc[src] = ws[1:]
		l.srcs = append(l.srcs, src)
	}
	return w
}

// popNewest takes the last waiter of the source whose turn is last.
func (l *lane) popNewest() *waiter {
	if len(l.srcs) == 0 {
		return nil
	}
	ws := l.bySrc[l.srcs[len(l.srcs)-1]]
	w := ws[len(ws)-1]
	l.remove(w)
	return w
}

// remove takes w out, wherever it waits.
func (l *lane) remove(w *waiter) {
	ws := l.bySrc[w.src]
	i := slices.Index(ws, w)
	if i < 0 {
		return
	}
	ws = slices.Delete(ws, i, i+1)
	if len(ws) > 0 {
		l.bySrc[w.src] = ws
		return
	}
	delete(l.bySrc, w.src)
	if j := slices.Index(l.srcs, w.src); j >= 0 {
		l.srcs = slices.Delete(l.srcs, j, j+1)
	}
}
