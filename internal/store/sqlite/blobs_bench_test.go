package sqlite

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

// BenchmarkBlobOpen reads distinct 4 KiB inline blobs from 10 goroutines,
// as POP3 RETR does under bench/pop3load (a working set larger than one
// connection's page cache, messages stored by earlier transactions).
func BenchmarkBlobOpen(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir(), Options{Owner: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids := storeBlobs(b, s, 20000, 4096)
	b.SetBytes(4096)
	b.SetParallelism(5) // 2 CPUs × 5 = 10 goroutines
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
	var next atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 8<<10)
		for pb.Next() {
			id := ids[next.Add(7919)%uint64(len(ids))] // scattered, as sessions interleave
			bl, err := s.Blobs().Open(ctx, id)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{bl}, buf); err != nil {
				b.Error(err)
			}
			bl.Close()
		}
	})
}

// storeBlobs delivers n distinct messages of size bytes to one account and
// returns their blob IDs.
func storeBlobs(tb testing.TB, s *Store, n, size int) []string {
	tb.Helper()
	ctx := context.Background()
	if err := s.AddDomain(ctx, "example.test"); err != nil {
		tb.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.Account{Address: "u@example.test", PasswordHash: "h"})
	if err != nil {
		tb.Fatal(err)
	}
	pad := strings.Repeat("x", 72) + "\r\n"
	ids := make([]string, 0, n)
	for len(ids) < n {
		var batch []store.NewMessage
		for range min(500, n-len(ids)) {
			w, _ := s.Blobs().Create(ctx)
			fmt.Fprintf(w, "Subject: %d\r\n\r\n", len(ids)+len(batch))
			for written := 0; written < size-len(pad)-16; written += len(pad) {
				io.WriteString(w, pad)
			}
			id, sz, err := w.Commit()
			if err != nil {
				tb.Fatal(err)
			}
			batch = append(batch, store.NewMessage{AccountID: a.ID, BlobID: id, Size: sz, InternalDate: time.Now()})
		}
		_, errs := s.Deliver(ctx, batch)
		for i, err := range errs {
			if err != nil {
				tb.Fatal(err)
			}
			ids = append(ids, batch[i].BlobID)
		}
	}
	return ids
}

// cpuTime is the process's user and system CPU time: on a shared machine
// it varies less than the elapsed time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBlobOpenMany is BenchmarkBlobOpen with the blobs opened 16 at
// a time, as a POP3 session does for pipelined RETRs.
func BenchmarkBlobOpenMany(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir(), Options{Owner: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids := storeBlobs(b, s, 20000, 4096)
	b.SetBytes(4096)
	b.SetParallelism(5)
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
	var next atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 8<<10)
		batch := make([]string, 0, 16)
		for pb.Next() {
			batch = append(batch, ids[next.Add(7919)%uint64(len(ids))])
			if len(batch) < 16 {
				continue
			}
			bls, err := s.blobs.OpenMany(ctx, batch)
			if err != nil {
				b.Error(err)
				return
			}
			for _, bl := range bls {
				io.CopyBuffer(io.Discard, struct{ io.Reader }{bl}, buf)
				bl.Close()
			}
			batch = batch[:0]
		}
	})
}
