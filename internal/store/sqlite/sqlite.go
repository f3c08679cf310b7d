// Package sqlite is Facteur's embedded store: an SQLite index in WAL mode
// (modernc.org/sqlite, pure Go) beside a directory of content-addressed
// message files (package blob).
//
// On-disk layout under the data directory:
//
//	index.db, index.db-wal, index.db-shm   the index (schema in schema.go),
//	                                       with messages up to InlineMax inline
//	blobs/                                 larger messages, see package blob
//
// Durability: every write goes through one committer goroutine that runs
// concurrent requests in one transaction, each in its own savepoint, and
// commits once with synchronous=FULL, so many deliveries share one fsync of
// the WAL and each caller is answered only when its own data is durable.
// Several processes may open the same index at once (the server and the
// admin CLI): SQLite's locking and a busy timeout serialise their writes.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/blob"
)

// Options tune the backend.
type Options struct {
	// Fsync=false turns off every fsync: for throwaway benchmarks only.
	Fsync bool
	// Owner marks the process that owns the data directory (the server): it
	// may clean up interrupted blob writes at start.
	Owner bool
}

// readConns bounds the read connections, which SQLite's WAL mode lets run
// beside the writer.
const readConns = 8

// Store is the SQLite backend of store.Store.
type Store struct {
	read    *sql.DB
	write   *sql.DB
	blobs   *blobStore
	commit  *committer
	rstmts  *stmts
	wstmts  *stmts
	domains domainCache
	hub     hub
	stopGC  context.CancelFunc // nil unless Owner
	gcDone  chan struct{}
	text    textMarks  // textindex.go
	textq   *textQueue // textqueue.go; nil unless Owner
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir and migrates its schema.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	files, err := blob.Open(filepath.Join(dir, "blobs"), opts.Fsync)
	if err != nil {
		return nil, err
	}
	if opts.Owner {
		files.CleanTmp()
	}
	path := filepath.Join(dir, "index.db")
	write, err := openDB(path, opts.Fsync, true)
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	read, err := openDB(path, opts.Fsync, false)
	if err != nil {
		write.Close()
		return nil, err
	}
	// Keep every read connection open: database/sql keeps only two idle
	// by default, and closing the others threw away their page cache and
	// prepared statements (measured: 15% of POP3 RETR's CPU in
	// sqlite3_close and as much again re-opening and re-preparing).
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	s := &Store{read: read, write: write, rstmts: &stmts{db: read}, wstmts: &stmts{db: write}}
	for _, q := range hotWrites {
		if _, err := s.wstmts.get(ctx, q); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: preparing %q: %w", q, err)
		}
	}
	s.blobs = &blobStore{s: s, files: files}
	s.commit = newCommitter(write, s.txExec, commitHooks{s})
	if opts.Owner {
		var gcCtx context.Context
		gcCtx, s.stopGC = context.WithCancel(context.Background())
		s.gcDone = make(chan struct{})
		s.textq = newTextQueue()
		go func() {
			defer close(s.gcDone)
			indexed := make(chan struct{})
			go func() {
				defer close(indexed)
				s.textq.run(gcCtx, s)
			}()
			s.backfillText(gcCtx) // textindex.go
			s.gcLoop(gcCtx)
			<-indexed
		}()
	}
	return s, nil
}

// commitHooks keeps the pending blobs and the change hub in step with the
// group transaction.
type commitHooks struct{ s *Store }

func (h commitHooks) mark() int  { return h.s.blobs.mark() }
func (h commitHooks) undo(m int) { h.s.blobs.undo(m) }
func (h commitHooks) after(ok bool) {
	h.s.blobs.committed(ok)
	h.s.hub.committed(ok)
}

func openDB(path string, fsync, writer bool) (*sql.DB, error) {
	sync := "FULL"
	if !fsync {
		sync = "OFF"
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		// Take the write lock at BEGIN, so two processes never deadlock
		// upgrading read transactions.
		q.Add("_txlock", "immediate")
	} else {
		// Readers map the index instead of pread-ing each page into a
		// per-connection cache that a mailbox download overflows at once:
		// BenchmarkBlobOpen, 4 KiB blobs, 30 µs of CPU an open instead of
		// 43-48 µs (with a larger cache_size, or none).
		q.Add("_pragma", "mmap_size(1073741824)")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return db, nil
}

// Blobs returns the message file store.
func (s *Store) Blobs() store.BlobStore { return s.blobs }

// Close stops the committer after pending writes and closes the index.
func (s *Store) Close() error {
	if s.stopGC != nil {
		s.stopGC()
		<-s.gcDone
	}
	s.commit.stop()
	s.rstmts.close()
	s.wstmts.close()
	err1 := s.read.Close()
	err2 := s.write.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// stmts caches prepared statements: SQLite's parser is a large share of
// the cost of a short query, so hot queries are parsed once per connection.
type stmts struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
}

func (c *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (c *stmts) close() {
	c.m.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// queryRow runs a cached read query.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return s.read.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs a cached read query returning rows.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// txStmt returns the write statement prepared at Open for query, bound to
// tx, or nil. Write statements cannot be prepared lazily: the write pool
// has one connection, which the running transaction holds.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	st, ok := s.wstmts.m.Load(query)
	if !ok {
		return nil
	}
	return tx.StmtContext(ctx, st.(*sql.Stmt))
}

// txExec runs a cached write statement in tx.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQueryRow runs a cached write-side query in tx.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}
