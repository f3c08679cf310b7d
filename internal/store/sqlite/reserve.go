package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	sqlite "modernc.org/sqlite"

	"facteur.dev/facteur/internal/store"
)

// A full disk must not keep a user from deleting mail to free it: flag
// changes, expunges, moves and the \Recent claim of SELECT (which need
// room in the WAL) run with a reserve.
// The owner of the data directory keeps a preallocated file of
// Options.ReserveBytes, data_dir/reserve, on the index's file system;
// when a reserved write fails with SQLITE_FULL, the file is removed and
// the write tried once more in the room it leaves. The reserve is made
// again after a reserved write once the file system has twice its size
// free. Deliveries never use it: the SMTP listeners refuse mail well
// before (limits.min_free_bytes), and a write that fails for want of
// space is store.ErrStorageFull. A reserve file was chosen over SQLite
// settings (a preallocated WAL through journal_size_limit, or
// SQLITE_FCNTL_CHUNK_SIZE) because those keep room only while nothing
// truncates or checkpoints the WAL, and not for the blob files.

// reserve is the preallocated file. It is safe for concurrent use.
type reserve struct {
	path string
	size int64

	mu   sync.Mutex
	held bool
}

func newReserve(dir string, size int64) *reserve {
	return &reserve{path: filepath.Join(dir, "reserve"), size: size}
}

// ensure makes the reserve file unless it exists or the file system has
// less than twice its size free.
func (r *reserve) ensure() error {
	if r == nil || r.size <= 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held {
		return nil
	}
	if fi, err := os.Stat(r.path); err == nil && fi.Size() >= r.size {
		r.held = true
		return nil
	}
	if free, err := FreeBytes(filepath.Dir(r.path)); err != nil || free < 2*r.size {
		return err
	}
	if err := allocate(r.path, r.size); err != nil {
		os.Remove(r.path)
		return fmt.Errorf("sqlite: reserve: %w", err)
	}
	r.held = true
	return nil
}

// allocate writes a file of size bytes, allocated on the disk.
func allocate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) { // not every file system: write it
		err = writeZeros(f, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeZeros(f *os.File, size int64) error {
	chunk := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
			return err
		}
	}
	return nil
}

// release removes the reserve file; it reports whether there was one.
func (r *reserve) release() bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.held {
		return false
	}
	r.held = false
	return os.Remove(r.path) == nil
}

// FreeBytes returns the bytes available to this process on the file
// system of dir.
func FreeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// sqliteFull is SQLite's result code for a full disk.
const sqliteFull = 13

// isFull reports whether err is a write that failed for want of space.
func isFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqliteFull {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// full marks a failure for want of space as store.ErrStorageFull.
func full(err error) error {
	if err != nil && isFull(err) && !errors.Is(err, store.ErrStorageFull) {
		return fmt.Errorf("%w: %w", store.ErrStorageFull, err)
	}
	return err
}

// doReserved runs fn as commit.do does and, when it fails for want of
// space, releases the reserve and tries once more.
func (s *Store) doReserved(ctx context.Context, fn writeFn) error {
	err := s.commit.do(ctx, fn)
	if isFull(err) && s.reserve.release() {
		err = s.commit.do(ctx, fn)
	}
	if err == nil {
		s.reserve.ensure() // best effort: the next reserved write tries again
	}
	return err
}
