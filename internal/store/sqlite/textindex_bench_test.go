package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// BenchmarkDeliverTextIndex measures what the text index adds to a
// delivery: the same 2 KB messages delivered with their text indexed, and
// with the text left out (as for a copy, which indexing skips).
func BenchmarkDeliverTextIndex(b *testing.B) {
	for _, indexed := range []bool{true, false} {
		b.Run(fmt.Sprintf("indexed=%v", indexed), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, b.TempDir(), Options{Owner: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.AddDomain(ctx, "example.test")
			a, err := s.CreateAccount(ctx, store.Account{Address: "u@example.test", PasswordHash: "h"})
			if err != nil {
				b.Fatal(err)
			}
			body := strings.Repeat("the quick brown fox jumps over the lazy dog, ", 40)
			for b.Loop() {
				var batch []store.NewMessage
				for i := range 100 {
					raw := fmt.Sprintf("Subject: message %d %d\r\nFrom: a@example.org\r\n\r\n%s%d\r\n", b.N, i, body, i)
					w, _ := s.Blobs().Create(ctx)
					io.WriteString(w, raw)
					id, size, err := w.Commit()
					if err != nil {
						b.Fatal(err)
					}
					p, _ := message.Parse(bytes.NewReader([]byte(raw)))
					if !indexed {
						p.Text, p.Headers = "", nil
					}
					batch = append(batch, store.NewMessage{AccountID: a.ID, BlobID: id, Size: size, Parsed: p, InternalDate: time.Now()})
				}
				if _, errs := s.Deliver(ctx, batch); errs[0] != nil {
					b.Fatal(errs[0])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*100), "µs/msg")
		})
	}
}
