package store

import (
	"bytes"
	"context"
	"io"
	"testing"
	"testing/iotest"
)

// memBlobs is a BlobStore of in-memory blobs, enough for OpenMessage.
type memBlobs map[string]string

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

func (s memBlobs) Create(context.Context) (BlobWriter, error) { panic("not needed") }

func (s memBlobs) Open(_ context.Context, id string) (Blob, error) {
	data, ok := s[id]
	if !ok {
		return nil, ErrNotFound
	}
	return memBlob{bytes.NewReader([]byte(data))}, nil
}

func (s memBlobs) OpenMany(ctx context.Context, ids []string) ([]Blob, error) {
	out := make([]Blob, len(ids))
	for i, id := range ids {
		b, err := s.Open(ctx, id)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// TestOpenMessage: a message with Headers reads as Headers then its blob,
// by Read and by ReadAt at every offset and length (across the boundary
// too); one without is its blob itself.
func TestOpenMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blobs := memBlobs{"b": "Subject: s\r\n\r\nbody\r\n"}
	m := &Message{BlobID: "b", Headers: "X-A: 1\r\nX-B: 2\r\n"}
	want := m.Headers + blobs["b"]
	b, err := OpenMessage(ctx, blobs, m)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != int64(len(want)) {
		t.Errorf("Size %d, want %d", b.Size(), len(want))
	}
	if err := iotest.TestReader(b, []byte(want)); err != nil {
		t.Error(err)
	}
	for off := 0; off <= len(want); off++ {
		for n := 0; off+n <= len(want)+2; n++ {
			buf := make([]byte, n)
			got, err := b.ReadAt(buf, int64(off))
			wantN := min(n, len(want)-off)
			if got != wantN || string(buf[:got]) != want[off:off+wantN] || n > 0 && (got < n) != (err == io.EOF) {
				t.Fatalf("ReadAt(%d bytes, %d) = %d %v %q", n, off, got, err, buf[:got])
			}
		}
	}
	if _, err := b.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt at -1 succeeded")
	}

	plain, err := OpenMessage(ctx, blobs, &Message{BlobID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.(memBlob); !ok {
		t.Errorf("a message without Headers opened as %T, not its blob", plain)
	}
	many, err := OpenMessages(ctx, blobs, []*Message{m, {BlobID: "b"}, m})
	if err != nil || len(many) != 3 {
		t.Fatalf("OpenMessages: %v %v", many, err)
	}
	for i, w := range []string{want, blobs["b"], want} {
		if got, _ := io.ReadAll(many[i]); string(got) != w {
			t.Errorf("OpenMessages[%d] = %q, want %q", i, got, w)
		}
	}
	if _, err := OpenMessages(ctx, blobs, []*Message{m, {BlobID: "nope"}}); err != ErrNotFound {
		t.Errorf("OpenMessages of a missing blob: %v", err)
	}
}
