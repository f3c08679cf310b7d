package store

import (
	"context"
	"errors"
	"io"
)

// OpenMessage opens a stored message's bytes: m.Headers, then its blob's.
// Every reader of a mailbox message goes through it (or OpenMessages),
// never through the blob alone. A message without Headers is its blob as
// it is, at no extra cost.
func OpenMessage(ctx context.Context, blobs BlobStore, m *Message) (Blob, error) {
	b, err := blobs.Open(ctx, m.BlobID)
	if err != nil {
		return nil, err
	}
	return withHeaders(m.Headers, b), nil
}

// OpenMessages is OpenMessage for many messages, their blobs opened with
// one BlobStore.OpenMany call: out[i] is msgs[i]. It fails as OpenMany
// does, leaving none open.
func OpenMessages(ctx context.Context, blobs BlobStore, msgs []*Message) ([]Blob, error) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.BlobID
	}
	out, err := blobs.OpenMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, m := range msgs {
		out[i] = withHeaders(m.Headers, out[i])
	}
	return out, nil
}

// withHeaders puts header lines before a blob's bytes; with none it
// returns the blob.
func withHeaders(headers string, b Blob) Blob {
	if headers == "" {
		return b
	}
	return &prefixed{head: headers, blob: b}
}

// prefixed is a blob read after a string, as one Blob.
type prefixed struct {
	head string
	blob Blob
	off  int64 // where Read is
}

var errNegativeOffset = errors.New("store: negative offset")

// Read reads at the position Read left, through ReadAt: the blob's own
// position is never used.
func (p *prefixed) Read(b []byte) (int, error) {
	n, err := p.ReadAt(b, p.off)
	p.off += int64(n)
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil // io.Reader: the next call reports it
	}
	return n, err
}

// ReadAt reads from the header lines, then from the blob, across the
// boundary in one call (io.ReaderAt: n < len(b) only with an error).
func (p *prefixed) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errNegativeOffset
	}
	n := 0
	if head := int64(len(p.head)); off < head {
		n = copy(b, p.head[off:])
		if n == len(b) {
			return n, nil
		}
	}
	m, err := p.blob.ReadAt(b[n:], off+int64(n)-int64(len(p.head)))
	return n + m, err
}

// Size is the header lines' length and the blob's.
func (p *prefixed) Size() int64 { return int64(len(p.head)) + p.blob.Size() }

// Close closes the blob.
func (p *prefixed) Close() error { return p.blob.Close() }
