package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/blob"
)

// InlineMax is the size up to which a message's bytes are kept inside the
// index (table blob_data) rather than as a file. Measured on this project's
// 2-core machine: a file per message with its own fsync and directory
// fsync tops out near 2,000 files/s, while rows in the group-committed WAL
// share one fsync per batch. Larger messages stream to files.
const InlineMax = 128 << 10

// pendingTTL bounds how long a committed small blob that no message refers
// to stays in memory.
// A delivery refers to its blob milliseconds after Commit; one that comes
// later than this finds the bytes gone and fails temporarily
// (blobStore.mustExist), it never stores a message without content.
const pendingTTL = 2 * time.Minute

// blobStore keeps small blobs in the index and large ones in files; an ID
// (the SHA-256 of the content) means the same bytes in either place.
//
// A small blob's Commit keeps its bytes in memory ("pending"); they are
// written in the same group transaction as the first Deliver or Enqueue
// that refers to them, so storing a message costs one WAL fsync, not two.
// Nobody is told a message is stored before that transaction is durable.
type blobStore struct {
	s     *Store
	files *blob.Files

	mu        sync.Mutex
	pending   map[string]*pendingBlob
	inflight  []string // written by the transaction being committed
	lastSweep time.Time
}

type pendingBlob struct {
	data  []byte
	added time.Time
}

var _ store.BlobStore = (*blobStore)(nil)

func (b *blobStore) Create(ctx context.Context) (store.BlobWriter, error) {
	return &tieredWriter{b: b, ctx: ctx}, nil
}

func (b *blobStore) Open(ctx context.Context, id string) (store.Blob, error) {
	b.mu.Lock()
	p := b.pending[id]
	b.mu.Unlock()
	if p != nil {
		return &memBlob{Reader: bytes.NewReader(p.data)}, nil
	}
	var data []byte
	err := b.s.blobQueryRow(ctx, "SELECT data FROM blob_data WHERE id = ?", id).Scan(&data)
	if err == nil {
		return &memBlob{Reader: bytes.NewReader(data)}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return b.files.Open(ctx, id)
}

// openBatch is how many blobs OpenMany reads with one query (a statement
// with that many placeholders, prepared once). Per query, SQLite begins
// and ends a read transaction (two fcntl locks on the WAL index) and
// database/sql takes a connection and a statement: measured under POP3
// RETR, that was about a third of the cost of reading a 4 KiB blob.
const openBatch = 16

var qOpenMany = "SELECT id, data FROM blob_data WHERE id IN (?" + strings.Repeat(", ?", openBatch-1) + ")"

// OpenMany opens blobs[i] = ids[i], reading the inline ones openBatch at a
// time.
func (b *blobStore) OpenMany(ctx context.Context, ids []string) ([]store.Blob, error) {
	out := make([]store.Blob, len(ids))
	var todo []int // indexes of ids neither pending nor read yet
	b.mu.Lock()
	for i, id := range ids {
		if p := b.pending[id]; p != nil {
			out[i] = &memBlob{Reader: bytes.NewReader(p.data)}
		} else {
			todo = append(todo, i)
		}
	}
	b.mu.Unlock()
	for len(todo) > 0 {
		n := min(openBatch, len(todo))
		if err := b.readInline(ctx, ids, todo[:n], out); err != nil {
			closeBlobs(out)
			return nil, err
		}
		todo = todo[n:]
	}
	for i, id := range ids {
		if out[i] != nil {
			continue
		}
		f, err := b.files.Open(ctx, id)
		if err != nil {
			closeBlobs(out)
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// readInline fills out[i] for the indexes idx (at most openBatch) whose
// blob is in blob_data, in one query; the others stay nil.
func (b *blobStore) readInline(ctx context.Context, ids []string, idx []int, out []store.Blob) error {
	args := make([]any, openBatch)
	for j := range args {
		args[j] = ids[idx[min(j, len(idx)-1)]] // unused places repeat the last ID
	}
	rows, err := b.s.blobQuery(ctx, qOpenMany, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id sql.RawBytes
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return err
		}
		for _, i := range idx {
			if ids[i] == string(id) {
				out[i] = &memBlob{Reader: bytes.NewReader(data)}
			}
		}
	}
	return rows.Err()
}

func closeBlobs(blobs []store.Blob) {
	for _, b := range blobs {
		if b != nil {
			b.Close()
		}
	}
}

// tieredWriter buffers up to InlineMax in memory and spills to a file
// beyond.
type tieredWriter struct {
	b    *blobStore
	ctx  context.Context
	buf  bytes.Buffer
	file store.BlobWriter
	done bool
}

func (w *tieredWriter) Write(p []byte) (int, error) {
	if w.file != nil {
		return w.file.Write(p)
	}
	if w.buf.Len()+len(p) <= InlineMax {
		return w.buf.Write(p)
	}
	f, err := w.b.files.Create(w.ctx)
	if err != nil {
		return 0, err
	}
	w.file = f
	if _, err := f.Write(w.buf.Bytes()); err != nil {
		return 0, err
	}
	w.buf = bytes.Buffer{}
	return f.Write(p)
}

func (w *tieredWriter) Commit() (string, int64, error) {
	if w.done {
		return "", 0, errors.New("blob: already committed or aborted")
	}
	w.done = true
	if w.file != nil {
		return w.file.Commit()
	}
	sum := sha256.Sum256(w.buf.Bytes())
	id := hex.EncodeToString(sum[:])
	w.b.addPending(id, w.buf.Bytes())
	return id, int64(w.buf.Len()), nil
}

func (b *blobStore) addPending(id string, data []byte) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[string]*pendingBlob{}
	}
	if p := b.pending[id]; p != nil {
		p.added = now
		return
	}
	b.pending[id] = &pendingBlob{data: data, added: now}
	if now.Sub(b.lastSweep) > pendingTTL/4 {
		b.lastSweep = now
		for k, p := range b.pending {
			if now.Sub(p.added) > pendingTTL {
				delete(b.pending, k)
			}
		}
	}
}

// persist writes a pending blob in tx; it runs on the committer goroutine.
func (b *blobStore) persist(ctx context.Context, tx *sql.Tx, id string) error {
	b.mu.Lock()
	p := b.pending[id]
	b.mu.Unlock()
	if p == nil {
		return b.mustExist(ctx, tx, id) // a file, or already in the index
	}
	if _, err := b.s.txExec(ctx, tx, qInsertBlobData, id, p.data); err != nil {
		return err
	}
	b.mu.Lock()
	b.inflight = append(b.inflight, id)
	b.mu.Unlock()
	return nil
}

// Discard forgets a committed blob that no delivery will refer to (the
// message was refused after its bytes were written). A blob already in the
// index or in a file is left to the garbage collector.
func (b *blobStore) Discard(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pending, id)
}

// mustExist fails when a message would refer to bytes that are neither in
// the index nor in a file (say, a pending blob dropped after pendingTTL):
// the delivery is refused rather than stored without its content.
func (b *blobStore) mustExist(ctx context.Context, tx *sql.Tx, id string) error {
	var one int
	err := b.s.txQueryRow(ctx, tx, qBlobDataExists, id).Scan(&one)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	path, err := b.files.Path(id)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite: blob %s: %w", id, err)
	}
	return nil
}

// mark and undo keep inflight in step with savepoints: a blob written by a
// savepoint that was rolled back is not in the index, so it must stay
// pending for the next message that refers to it.
func (b *blobStore) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.inflight)
}

func (b *blobStore) undo(m int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m < len(b.inflight) {
		b.inflight = b.inflight[:m]
	}
}

// committed runs after each group transaction: written blobs leave memory
// once their transaction is durable, and stay pending if it failed.
func (b *blobStore) committed(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		for _, id := range b.inflight {
			delete(b.pending, id)
		}
	}
	b.inflight = b.inflight[:0]
}

func (w *tieredWriter) Abort() error {
	w.done = true
	if w.file != nil {
		return w.file.Abort()
	}
	w.buf = bytes.Buffer{}
	return nil
}

type memBlob struct{ *bytes.Reader }

func (m *memBlob) Close() error { return nil }
func (m *memBlob) Size() int64  { return m.Reader.Size() }

var _ io.ReaderAt = (*memBlob)(nil)
