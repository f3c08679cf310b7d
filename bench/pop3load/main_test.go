package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/pop3d"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/sqlite"
)

type lookup struct{ s store.Store }

func (l lookup) LookupAccount(ctx context.Context, a string) (auth.Account, error) {
	acc, err := l.s.LookupAccount(ctx, a)
	if err != nil {
		return auth.Account{}, auth.ErrNotFound
	}
	return auth.Account{ID: acc.ID, Address: acc.Address, PasswordHash: acc.PasswordHash}, nil
}

// server starts Facteur's POP3 server with users user0…user{users-1} of
// n copies of raw each.
func server(t *testing.T, users, n int, raw string) (string, store.Store) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.AddDomain(ctx, "bench.test")
	hash, _ := auth.HashPassword("pw", auth.Params{Memory: 1024, Time: 1, Threads: 1})
	p, _ := message.Parse(strings.NewReader(raw))
	for u := range users {
		a, err := s.CreateAccount(ctx, store.Account{Address: fmt.Sprintf("user%d@bench.test", u), PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			w, _ := s.Blobs().Create(ctx)
			w.Write([]byte(raw))
			id, size, _ := w.Commit()
			if _, errs := s.Deliver(ctx, []store.NewMessage{{AccountID: a.ID, BlobID: id, Size: size, Parsed: p, InternalDate: time.Now()}}); errs[0] != nil {
				t.Fatal(errs[0])
			}
		}
	}
	srv := pop3d.New(pop3d.Options{Store: s, Auth: auth.New(lookup{s}, auth.Options{}),
		PlaintextNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), s
}

func TestRetrievesEveryMessage(t *testing.T) {
	raw := "Subject: x\r\n\r\n.dot\r\nbody\r\n"
	addr, s := server(t, 3, 7, raw)
	o := &options{addr: addr, users: "user%d@bench.test", pass: "pw", mailboxes: 3, conns: 2,
		rounds: 2, pipeline: 4, timeout: 10 * time.Second}
	sessions, _ := run(o)
	if sessions != 6 || o.messages.Load() != 42 || o.bytes.Load() != int64(42*len(raw)) || o.err.Load() != 0 {
		t.Fatalf("sessions=%d messages=%d bytes=%d errors=%d", sessions, o.messages.Load(), o.bytes.Load(), o.err.Load())
	}
	o = &options{addr: addr, users: "user%d@bench.test", pass: "pw", mailboxes: 3, conns: 3,
		rounds: 1, pipeline: 16, timeout: 10 * time.Second, dele: true}
	run(o)
	a, _ := s.LookupAccount(context.Background(), "user2@bench.test")
	if box, _ := s.GetMailbox(context.Background(), a.ID, "INBOX"); o.err.Load() != 0 || box.Messages != 0 {
		t.Fatalf("after -dele: errors=%d, %d messages left", o.err.Load(), box.Messages)
	}
	if got := report(6, 42, 2e6, 0, time.Second); !strings.Contains(got, "rate=42.0 msg/s 2.0 MB/s") {
		t.Fatalf("report %q", got)
	}
}
