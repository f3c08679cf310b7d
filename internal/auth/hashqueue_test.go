package auth

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// queued starts acquire for src in a goroutine and returns once it has
// been queued or answered, sending its name to order when granted and
// releasing the slot at once.
func queued(t *testing.T, q *hashQueue, wg *sync.WaitGroup, order chan<- string, name string, src netip.Prefix, failing bool) {
	t.Helper()
	before := q.arrived()
	wg.Go(func() {
		if err := q.acquire(context.Background(), src, failing); err != nil {
			order <- name + ": " + err.Error()
			return
		}
		order <- name
		q.release()
	})
	for q.arrived() == before {
		runtime.Gosched()
	}
}

// arrived returns the number of acquire calls that have queued or been
// answered.
func (q *hashQueue) arrived() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.arrivals
}

// busyQueue returns a queue of one slot, taken, and what queued needs.
func busyQueue(t *testing.T, maxWaiting int) (*hashQueue, *sync.WaitGroup, chan string) {
	t.Helper()
	q := newHashQueue(1, maxWaiting)
	if err := q.acquire(context.Background(), prefix(0), false); err != nil {
		t.Fatal(err)
	}
	return q, new(sync.WaitGroup), make(chan string, 10)
}

// drain releases the taken slot and returns the names served, in order.
func drain(q *hashQueue, wg *sync.WaitGroup, order chan string) []string {
	q.release()
	wg.Wait()
	close(order)
	var got []string
	for s := range order {
		got = append(got, s)
	}
	return got
}

func prefix(i int) netip.Prefix { return ipKey(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})) }

// TestHashQueueOrder checks that sources that are not failing go first and
// that failing sources take turns.
func TestHashQueueOrder(t *testing.T) {
	t.Parallel()
	q, wg, order := busyQueue(t, 100)
	queued(t, q, wg, order, "a1", prefix(1), true)
	queued(t, q, wg, order, "a2", prefix(1), true)
	queued(t, q, wg, order, "a3", prefix(1), true)
	queued(t, q, wg, order, "b1", prefix(2), true)
	queued(t, q, wg, order, "user", prefix(3), false)
	got := drain(q, wg, order)
	want := []string{"user", "a1", "b1", "a2", "a3"}
	if !slices.Equal(got, want) {
		t.Errorf("served %v, want %v", got, want)
	}
}

// TestHashQueueBounded checks that at most maxWaiting logins wait, and that
// a login from a source that is not failing pushes out a failing one.
func TestHashQueueBounded(t *testing.T) {
	t.Parallel()
	q, wg, order := busyQueue(t, 2)
	queued(t, q, wg, order, "a1", prefix(1), true)
	queued(t, q, wg, order, "a2", prefix(1), true)
	queued(t, q, wg, order, "a3", prefix(1), true) // refused: full
	if got, want := <-order, "a3: "+errQueueFull.Error(); got != want {
		t.Errorf("third failing waiter: %q, want %q", got, want)
	}
	queued(t, q, wg, order, "user", prefix(2), false) // pushes a2 out
	if got, want := <-order, "a2: "+errQueueFull.Error(); got != want {
		t.Errorf("pushed out: %q, want %q", got, want)
	}
	if got, want := drain(q, wg, order), []string{"user", "a1"}; !slices.Equal(got, want) {
		t.Errorf("served %v, want %v", got, want)
	}
	if q.free != 1 || q.waiting != 0 {
		t.Errorf("after all: %d free, %d waiting; want 1, 0", q.free, q.waiting)
	}
}

// TestHashQueueCancel checks that a waiter whose context ends leaves the
// queue and gives back nothing it did not take.
func TestHashQueueCancel(t *testing.T) {
	t.Parallel()
	q := newHashQueue(1, 10)
	_ = q.acquire(context.Background(), prefix(0), false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.acquire(ctx, prefix(1), true) }()
	for q.arrived() != 2 {
		runtime.Gosched()
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("cancelled acquire: %v", err)
	}
	q.release()
	if q.free != 1 || q.waiting != 0 || len(q.lanes[1].srcs) != 0 {
		t.Errorf("after cancel: %d free, %d waiting, %v; want 1, 0, none", q.free, q.waiting, q.lanes[1].srcs)
	}
}

// TestBurstGetsAtMostTheLimit sends 60 parallel wrong passwords from one
// network for one account and for many: no more passwords are checked
// than the limits allow, whatever the interleaving.
func TestBurstGetsAtMostTheLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		addr  func(i int) string
		limit int
	}{
		{"one account", func(int) string { return "alice@example.test" }, 10},
		{"many accounts", func(i int) string { return fmt.Sprintf("u%d@example.test", i) }, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, Options{MaxFailuresPerAccount: 10, MaxFailuresPerIP: 20})
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 60 {
				wg.Go(func() {
					<-start
					_, _ = env.auth.CheckPassword(context.Background(), ip1, tt.addr(i), fmt.Sprint("guess", i))
				})
			}
			close(start)
			wg.Wait()
			if n := env.auth.verifications.Load(); n > int64(tt.limit) || n == 0 {
				t.Errorf("%d passwords checked, want 1..%d", n, tt.limit)
			}
		})
	}
}

// hashesFor runs n checks at once while the only hashing slot is held,
// releases it when ready says every check is under way, and returns the
// argon2id runs they took.
func hashesFor(t *testing.T, n int, check func(env *testEnv, i int), ready func(env *testEnv) bool) int64 {
	t.Helper()
	env := newTestEnv(t, Options{MaxFailuresPerAccount: -1, MaxFailuresPerIP: -1, MaxConcurrentHashes: 1})
	if err := env.auth.hashes.acquire(context.Background(), prefix(0), false); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { check(env, i) })
	}
	for !ready(env) {
		runtime.Gosched()
	}
	env.auth.hashes.release()
	wg.Wait()
	return env.auth.verifications.Load()
}

// TestSameCredentialsHashedOnce checks that concurrent checks of the same
// password for the same account share one argon2id run.
func TestSameCredentialsHashedOnce(t *testing.T) {
	t.Parallel()
	n := hashesFor(t, 8, func(env *testEnv, i int) {
		ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		if _, err := env.auth.CheckPassword(context.Background(), ip, "alice@example.test", "same guess"); err != ErrInvalidCredentials {
			t.Errorf("check %d: %v", i, err)
		}
	}, func(env *testEnv) bool { return env.auth.flights.joined() == 7 })
	if n != 1 {
		t.Errorf("%d argon2id runs for 8 identical checks, want 1", n)
	}
}

// joined returns how many callers wait for another's verification.
func (f *flights) joined() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, fl := range f.m {
		n += fl.followers
	}
	return n
}

// TestNoSharingAcrossAddresses checks that unknown addresses, which share
// the dummy hash, do not share verifications: if they did, two concurrent
// guesses would finish together for two unknown addresses and apart for a
// known and an unknown one.
func TestNoSharingAcrossAddresses(t *testing.T) {
	t.Parallel()
	n := hashesFor(t, 2, func(env *testEnv, i int) {
		_, _ = env.auth.CheckPassword(context.Background(), ip1, fmt.Sprintf("nobody%d@example.test", i), "same guess")
	}, func(env *testEnv) bool { return env.auth.hashes.arrived() == 3 })
	if n != 2 {
		t.Errorf("%d argon2id runs for two unknown addresses, want 2", n)
	}
}
