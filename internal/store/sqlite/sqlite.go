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
// Every directory under the data directory is 0700 and every file 0600,
// made so at each Open whatever existed (perms.go); a data directory
// that other users may write is refused.
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
	"errors"
	"fmt"
	"net/url"
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
	// ReserveBytes, for the owner, is the size of the reserve file that
	// lets flag changes and expunges work on a full disk (reserve.go);
	// 0: none.
	ReserveBytes int64
}

// readConns bounds the read connections, which SQLite's WAL mode lets run
// beside the writer.
const readConns = 8

// Store is the SQLite backend of store.Store.
type Store struct {
	read    *sql.DB
	write   *sql.DB
	blobDB  *sql.DB // readers of blob_data (blobs.go); see openDB
	blobs   *blobStore
	commit  *committer
	rstmts  *stmts
	wstmts  *stmts
	bstmts  *stmts
	parsed  parsedCache // parsedcache.go
	domains domainCache
	hub     hub
	stopGC  context.CancelFunc // nil unless Owner
	gcDone  chan struct{}
	text    textMarks  // textindex.go
	textq   *textQueue // textqueue.go; nil unless Owner
	reserve *reserve   // reserve.go; nil unless Owner with ReserveBytes
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir and migrates its schema.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := secureDataDir(dir); err != nil { // perms.go
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
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	write, err := openDB(path, opts.Fsync, writerConn)
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	read, err := openDB(path, opts.Fsync, indexConn)
	if err != nil {
		write.Close()
		return nil, err
	}
	blobDB, err := openDB(path, opts.Fsync, blobConn)
	if err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	// Keep every read connection open: database/sql keeps only two idle
	// by default, and closing the others threw away their page cache and
	// prepared statements (measured: 15% of POP3 RETR's CPU in
	// sqlite3_close and as much again re-opening and re-preparing).
	for _, db := range []*sql.DB{read, blobDB} {
		db.SetMaxOpenConns(readConns)
		db.SetMaxIdleConns(readConns)
	}
	s := &Store{read: read, write: write, blobDB: blobDB,
		rstmts: &stmts{db: read}, wstmts: &stmts{db: write}, bstmts: &stmts{db: blobDB}}
	for _, q := range hotWrites {
		if _, err := s.wstmts.get(ctx, q); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: preparing %q: %w", q, err)
		}
	}
	s.blobs = &blobStore{s: s, files: files}
	s.commit = newCommitter(write, s.txExec, commitHooks{s})
	if opts.Owner && opts.ReserveBytes > 0 {
		s.reserve = newReserve(dir, opts.ReserveBytes)
		if err := s.reserve.ensure(); err != nil {
			s.Close()
			return nil, err
		}
	}
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
	h.s.wstmts.preparePending(context.Background())
}

// connKind says what a pool of connections is for.
type connKind int

const (
	writerConn connKind = iota // the committer's one connection
	indexConn                  // reads of the index: mailboxes, messages, flags
	blobConn                   // reads of blob_data: message bytes
)

func openDB(path string, fsync bool, kind connKind) (*sql.DB, error) {
	sync := "FULL"
	if !fsync {
		sync = "OFF"
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	switch kind {
	case writerConn:
		// Take the write lock at BEGIN, so two processes never deadlock
		// upgrading read transactions.
		q.Add("_txlock", "immediate")
	case blobConn:
		// Blob readers map the index instead of pread-ing each page into
		// a per-connection cache that a mailbox download overflows at
		// once: BenchmarkBlobOpen, 4 KiB blobs, 30 µs of CPU an open
		// instead of 43-48 µs (with a larger cache_size, or none).
		q.Add("_pragma", "mmap_size(1073741824)")
	case indexConn:
		// No mmap for the index readers: SQLite unmaps the whole file at
		// the first read after any commit (pagerBeginReadTransaction), and
		// IMAP reads the index between commits all the time. Under
		// imaptest stress (fsync on) munmap alone was 5% of the server's
		// CPU; without the map, 7,500 commands/s instead of 6,700.
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
	s.bstmts.close()
	return errors.Join(s.read.Close(), s.blobDB.Close(), s.write.Close())
}

// stmts caches prepared statements: SQLite's parser is a large share of
// the cost of a short query, so hot queries are parsed once per connection.
type stmts struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt

	// Write statements missed inside a transaction, prepared after it
	// (preparePending); n counts the statements cached, up to maxStmts.
	mu      sync.Mutex
	pending map[string]bool
	n       int
}

// maxStmts bounds the write statements cached lazily: a query built with
// a variable number of parameters must not grow the cache without end.
const maxStmts = 256

// want records a write query to prepare once the running transaction is
// over.
func (c *stmts) want(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n+len(c.pending) >= maxStmts {
		return
	}
	if c.pending == nil {
		c.pending = map[string]bool{}
	}
	c.pending[query] = true
}

// preparePending prepares the queries want recorded. It runs on the
// committer's goroutine between transactions, when the write pool's one
// connection is free; a query that fails to prepare is left unprepared.
func (c *stmts) preparePending(ctx context.Context) {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for q := range pending {
		if _, err := c.get(ctx, q); err == nil {
			c.mu.Lock()
			c.n++
			c.mu.Unlock()
		}
	}
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

// blobQuery and blobQueryRow run cached reads of blob_data on the
// memory-mapped pool.
func (s *Store) blobQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.bstmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) blobQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.bstmts.get(ctx, query)
	if err != nil {
		return s.blobDB.QueryRowContext(ctx, query, args...)
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

// txStmt returns the cached write statement for query, bound to tx, or
// nil. A statement cannot be prepared while a transaction holds the write
// pool's one connection, so a query not cached yet runs unprepared this
// once and is prepared after the transaction (commitHooks.after).
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	st, ok := s.wstmts.m.Load(query)
	if !ok {
		s.wstmts.want(query)
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

// txQuery runs a cached write-side query returning rows in tx.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// txQueryRow runs a cached write-side query in tx.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}
