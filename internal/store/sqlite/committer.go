package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

var errClosed = errors.New("sqlite: store closed")

// writeFn is one caller's part of a group transaction. Its error rolls back
// its own savepoint only.
type writeFn func(ctx context.Context, tx *sql.Tx) error

type writeReq struct {
	fn   writeFn
	done chan error
}

// committer runs all writes of a process: it takes whatever requests are
// waiting, runs them in one transaction (one savepoint each) and commits
// once. While one commit waits for its fsync, new requests gather for the
// next, so throughput scales with concurrency instead of fsync rate.
type committer struct {
	db     *sql.DB
	exec   func(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error)
	hooks  txHooks
	reqs   chan writeReq
	quit   chan struct{}
	wg     sync.WaitGroup
	mu     sync.RWMutex
	closed bool
}

// txHooks lets the store keep in-memory state in step with the group
// transaction; every hook runs on the committer goroutine.
type txHooks interface {
	// mark returns a position in the state changed by writes; undo(m)
	// forgets what was done since mark returned m, when the savepoint
	// those changes belonged to is rolled back.
	mark() int
	undo(m int)
	// after runs after each transaction; ok says whether it committed.
	after(ok bool)
}

// fatalError is a failure that ended the whole group transaction (SQLite
// rolls it back by itself on SQLITE_FULL, IOERR or NOMEM): no savepoint of
// the batch may be reported durable, and no statement may run after it,
// or it would run outside any transaction.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return "sqlite: transaction aborted: " + e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func isFatal(err error) bool {
	var f *fatalError
	return errors.As(err, &f)
}

func newCommitter(db *sql.DB, exec func(context.Context, *sql.Tx, string, ...any) (sql.Result, error), hooks txHooks) *committer {
	c := &committer{db: db, exec: exec, hooks: hooks, reqs: make(chan writeReq, maxBatch), quit: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// do runs fn in the next group transaction and returns once it is durable.
func (c *committer) do(ctx context.Context, fn writeFn) error {
	req := writeReq{fn: fn, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	select {
	case c.reqs <- req:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued, the write completes even if ctx ends: the caller is
	// told the truth rather than a guess.
	return full(<-req.done) // reserve.go
}

func (c *committer) stop() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.quit)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *committer) loop() {
	defer c.wg.Done()
	for {
		select {
		case req := <-c.reqs:
			c.runBatch(c.gather(req))
		case <-c.quit:
			for {
				select {
				case req := <-c.reqs:
					c.runBatch(c.gather(req))
				default:
					return
				}
			}
		}
	}
}

func (c *committer) gather(first writeReq) []writeReq {
	batch := []writeReq{first}
	for len(batch) < maxBatch {
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (c *committer) runBatch(batch []writeReq) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		c.hooks.after(false)
		reply(batch, err)
		return
	}
	for i, r := range batch {
		errs[i] = c.runSavepoint(ctx, tx, r.fn)
		if isFatal(errs[i]) {
			tx.Rollback()
			c.hooks.after(false)
			reply(batch, errs[i])
			return
		}
	}
	err = tx.Commit()
	c.hooks.after(err == nil)
	if err != nil {
		reply(batch, fmt.Errorf("sqlite commit: %w", err))
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

func (c *committer) runSavepoint(ctx context.Context, tx *sql.Tx, fn writeFn) error {
	return c.inSavepoint(ctx, tx, "w", func() error { return fn(ctx, tx) })
}

// inSavepoint runs fn so that its failure undoes only its own changes. A
// panic in fn is its failure, not the process's. When the savepoint
// cannot be rolled back or released, the transaction is gone: the error
// is a *fatalError and the caller must stop using tx.
func (c *committer) inSavepoint(ctx context.Context, tx *sql.Tx, name string, fn func() error) error {
	if _, err := c.exec(ctx, tx, "SAVEPOINT "+name); err != nil {
		return &fatalError{err}
	}
	m := c.hooks.mark()
	if err := safeCall(fn); err != nil {
		if isFatal(err) {
			return err
		}
		if _, rerr := c.exec(ctx, tx, "ROLLBACK TO "+name); rerr != nil {
			return &fatalError{fmt.Errorf("%w (rollback: %v)", err, rerr)}
		}
		c.hooks.undo(m)
		if _, rerr := c.exec(ctx, tx, "RELEASE "+name); rerr != nil {
			return &fatalError{rerr}
		}
		return err
	}
	if _, err := c.exec(ctx, tx, "RELEASE "+name); err != nil {
		return &fatalError{err}
	}
	return nil
}

// safeCall runs fn, turning a panic into an error.
func safeCall(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", r)
		}
	}()
	return fn()
}

func reply(batch []writeReq, err error) {
	for _, r := range batch {
		r.done <- err
	}
}
