package auth

import (
	"context"
	"errors"
	"sync"
)

// flights de-duplicates concurrent verifications of the same password
// against the same stored hash (a flood repeating one guess, a client
// opening many connections at once) for the same address (see
// Authenticator.verify): the first caller runs argon2id, the
// others wait for its result. Keys are digests, never passwords.
type flights struct {
	mu sync.Mutex
	m  map[[32]byte]*flight
}

// flight is one verification under way; ok and err are set before done
// is closed.
type flight struct {
	done      chan struct{}
	ok        bool
	err       error
	followers int // callers waiting for it, for tests
}

// do returns the result of run for key, running it unless a verification
// of the same key is under way, in which case it waits for that one. If
// that one gave up because its own context ended, do runs again for this
// caller.
func (f *flights) do(ctx context.Context, key [32]byte, run func() (bool, error)) (bool, error) {
	for {
		fl, leader := f.join(key)
		if leader {
			fl.ok, fl.err = run()
			f.finish(key, fl)
			return fl.ok, fl.err
		}
		select {
		case <-fl.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if !isContextErr(fl.err) || ctx.Err() != nil {
			return fl.ok, fl.err
		}
	}
}

func (f *flights) join(key [32]byte) (*flight, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[key]; ok {
		fl.followers++
		return fl, false
	}
	if f.m == nil {
		f.m = make(map[[32]byte]*flight)
	}
	fl := &flight{done: make(chan struct{})}
	f.m[key] = fl
	return fl, true
}

func (f *flights) finish(key [32]byte, fl *flight) {
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	close(fl.done)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
