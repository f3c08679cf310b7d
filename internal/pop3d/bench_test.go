package pop3d

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/testutil"
)

// BenchmarkRetr retrieves 4 KiB messages with pipelined RETR commands
// (bench/pop3load measures the same over many connections).
func BenchmarkRetr(b *testing.B) { benchRetr(b, false) }

// BenchmarkRetrMemBlobs is BenchmarkRetr with the blobs' bytes read from
// memory instead of the store: the cost of the POP3 path alone.
func BenchmarkRetrMemBlobs(b *testing.B) { benchRetr(b, true) }

// memBlobs serves blobs from memory, filled on first use.
type memBlobs struct {
	store.BlobStore
	mu    sync.Mutex
	cache map[string][]byte
}

func (m *memBlobs) Open(ctx context.Context, id string) (store.Blob, error) {
	m.mu.Lock()
	data, ok := m.cache[id]
	m.mu.Unlock()
	if !ok {
		b, err := m.BlobStore.Open(ctx, id)
		if err != nil {
			return nil, err
		}
		data, _ = io.ReadAll(b)
		b.Close()
		m.mu.Lock()
		m.cache[id] = data
		m.mu.Unlock()
	}
	return memBlob{bytes.NewReader(data)}, nil
}

func (m *memBlobs) OpenMany(ctx context.Context, ids []string) ([]store.Blob, error) {
	out := make([]store.Blob, len(ids))
	for i, id := range ids {
		b, err := m.Open(ctx, id)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

type memBlobStore struct {
	store.Store
	blobs *memBlobs
}

func (s memBlobStore) Blobs() store.BlobStore { return s.blobs }

func benchRetr(b *testing.B, mem bool) {
	e := newEnv(b)
	var raw strings.Builder
	raw.WriteString("Subject: bench\r\n\r\n")
	for raw.Len() < 4096-80 {
		fmt.Fprintf(&raw, "%-74s\r\n", "line of text")
	}
	const n = 500
	for range n {
		e.deliver("alice@example.test", raw.String())
	}
	o := Options{Store: e.store, Auth: e.auth, PlaintextNetworks: loopback}
	if mem {
		o.Store = memBlobStore{e.store, &memBlobs{BlobStore: e.store.Blobs(), cache: map[string][]byte{}}}
	}
	srv := New(o)
	l := testutil.Listen(b)
	go srv.Serve(l)
	defer srv.Close()
	addr := l.Addr().String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	fmt.Fprintf(c, "USER alice@example.test\r\nPASS %s\r\n", password)
	for range 3 {
		r.ReadString('\n')
	}
	b.SetBytes(int64(raw.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i += 16 {
		var cmds strings.Builder
		for j := i; j < i+16 && j < b.N; j++ {
			fmt.Fprintf(&cmds, "RETR %d\r\n", j%n+1)
		}
		c.Write([]byte(cmds.String()))
		for j := i; j < i+16 && j < b.N; j++ {
			for {
				l, err := r.ReadSlice('\n')
				if err != nil {
					b.Fatal(err)
				}
				if string(l) == ".\r\n" {
					break
				}
			}
		}
	}
}
