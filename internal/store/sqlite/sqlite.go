// Package sqlite is Facteur's embedded store: an SQLite index in WAL mode
// (modernc.org/sqlite, pure Go) beside a directory of content-addressed
// message files (package blob).
//
// On-disk layout under the data directory:
//
//	index.db, index.db-wal, index.db-shm   the index (schema in schema.go)
//	blobs/                                 message bytes, see package blob
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

// Store is the SQLite backend of store.Store.
type Store struct {
	read   *sql.DB
	write  *sql.DB
	blobs  *blob.Files
	commit *committer
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir and migrates its schema.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	blobs, err := blob.Open(filepath.Join(dir, "blobs"), opts.Fsync)
	if err != nil {
		return nil, err
	}
	if opts.Owner {
		blobs.CleanTmp()
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
	read.SetMaxOpenConns(8)
	s := &Store{read: read, write: write, blobs: blobs}
	s.commit = newCommitter(write)
	return s, nil
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
	s.commit.stop()
	err1 := s.read.Close()
	err2 := s.write.Close()
	if err1 != nil {
		return err1
	}
	return err2
}
