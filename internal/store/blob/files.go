// Package blob stores message bytes as immutable files, named by the
// SHA-256 of their content so that a message delivered to many recipients,
// or received twice, is kept once.
//
// On-disk layout under the root directory:
//
//	tmp/                 bytes being received (removed on Abort, or at Open of the store)
//	ab/abcdef…           committed blobs: first two hex digits, then the full hex digest
//
// Commit fsyncs the file, renames it into place and fsyncs the directory, so
// a blob is durable before anybody is told it is stored.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"time"

	"facteur.dev/facteur/internal/store"
)

// Files is a store.BlobStore on the local file system.
type Files struct {
	root  string
	fsync bool
}

var _ store.BlobStore = (*Files)(nil)

// Open prepares root (creating it) and clears leftovers of interrupted
// writes. fsync=false is for throwaway benchmarks only.
func Open(root string, fsync bool) (*Files, error) {
	tmp := filepath.Join(root, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	// All 256 fan-out directories exist from the start, so committing a
	// blob only ever adds an entry to an existing directory.
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(root, fmt.Sprintf("%02x", i)), 0o700); err != nil {
			return nil, err
		}
	}
	if fsync {
		if err := syncDir(root); err != nil {
			return nil, err
		}
	}
	return &Files{root: root, fsync: fsync}, nil
}

// CleanTmp removes blobs that were never committed. Only the process that
// owns the store (the server) may call it.
func (f *Files) CleanTmp() error {
	tmp := filepath.Join(f.root, "tmp")
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range ents {
		os.Remove(filepath.Join(tmp, e.Name()))
	}
	return nil
}

// Create starts a blob in tmp/.
func (f *Files) Create(ctx context.Context) (store.BlobWriter, error) {
	fh, err := os.CreateTemp(filepath.Join(f.root, "tmp"), "in-*")
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &writer{f: f, file: fh, h: sha256.New()}, nil
}

// Path returns where the blob with id lives.
func (f *Files) Path(id string) (string, error) {
	if len(id) != 64 {
		return "", store.ErrNotFound
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", store.ErrNotFound
	}
	return filepath.Join(f.root, id[:2], id), nil
}

// Open opens a committed blob.
func (f *Files) Open(ctx context.Context, id string) (store.Blob, error) {
	p, err := f.Path(id)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	return &file{File: fh, size: st.Size()}, nil
}

// OpenMany opens blobs[i] = ids[i], one file each.
func (f *Files) OpenMany(ctx context.Context, ids []string) ([]store.Blob, error) {
	out := make([]store.Blob, 0, len(ids))
	for _, id := range ids {
		b, err := f.Open(ctx, id)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Remove deletes a blob no message refers to any more.
func (f *Files) Remove(id string) error {
	p, err := f.Path(id)
	if err != nil {
		return err
	}
	return os.Remove(p)
}

// OlderThan lists the committed blobs whose files were last modified
// before cutoff.
func (f *Files) OlderThan(cutoff time.Time) ([]string, error) {
	var out []string
	for i := 0; i < 256; i++ {
		entries, err := os.ReadDir(filepath.Join(f.root, fmt.Sprintf("%02x", i)))
		if err != nil {
			return out, err
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() || !info.ModTime().Before(cutoff) {
				continue
			}
			out = append(out, e.Name())
		}
	}
	return out, nil
}

type file struct {
	*os.File
	size int64
}

func (b *file) Size() int64 { return b.size }

type writer struct {
	f    *Files
	file *os.File
	h    hash.Hash
	n    int64
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.file.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

func (w *writer) Commit() (string, int64, error) {
	if w.done {
		return "", 0, errors.New("blob: already committed or aborted")
	}
	w.done = true
	id := hex.EncodeToString(w.h.Sum(nil))
	if err := w.persist(id); err != nil {
		w.file.Close()
		os.Remove(w.file.Name())
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	return id, w.n, nil
}

func (w *writer) persist(id string) error {
	if w.f.fsync {
		if err := w.file.Sync(); err != nil {
			return err
		}
	}
	if err := w.file.Close(); err != nil {
		return err
	}
	dir := filepath.Join(w.f.root, id[:2])
	final := filepath.Join(dir, id)
	if _, err := os.Stat(final); err == nil {
		// Same bytes already stored: keep one copy. The writer that
		// renamed it may still be before its directory fsync, so ours
		// is still owed before this blob is called durable.
		if err := os.Remove(w.file.Name()); err != nil {
			return err
		}
	} else if err := os.Rename(w.file.Name(), final); err != nil {
		return err
	}
	if !w.f.fsync {
		return nil
	}
	return syncDir(dir)
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.file.Close()
	return os.Remove(w.file.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
