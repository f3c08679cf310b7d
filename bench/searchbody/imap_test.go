package searchbody

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/imapd"
	"facteur.dev/facteur/internal/store"
)

type lookup struct{ s store.Store }

func (l lookup) LookupAccount(ctx context.Context, a string) (auth.Account, error) {
	acc, err := l.s.LookupAccount(ctx, a)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Account{}, auth.ErrNotFound
	}
	return auth.Account{ID: acc.ID, Address: acc.Address, PasswordHash: acc.PasswordHash}, err
}

// imapConn is a raw IMAP client conversation.
type imapConn struct {
	c *bufio.ReadWriter
	n int
}

// cmd sends a command and reads up to its tagged reply, which must be OK;
// it returns the untagged lines.
func (ic *imapConn) cmd(b *testing.B, command string) []string {
	ic.n++
	tag := fmt.Sprintf("t%d", ic.n)
	fmt.Fprintf(ic.c, "%s %s\r\n", tag, command)
	ic.c.Flush()
	var lines []string
	for {
		l, err := ic.c.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				b.Fatalf("%s: %s", command, l)
			}
			return lines
		}
		lines = append(lines, l)
	}
}

// BenchmarkIMAPSearchBody is SEARCH BODY over a real socket: the IMAP
// server, its session and the store, with the mailbox already selected.
func BenchmarkIMAPSearchBody(b *testing.B) {
	c := setup(b)
	ctx := context.Background()
	p := auth.Params{Memory: 1024, Time: 1, Threads: 1}
	hash, err := auth.HashPassword("secret", p)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.st.SetPassword(ctx, "bob@example.test", hash, ""); err != nil {
		b.Fatal(err)
	}
	srv := imapd.New(imapd.Options{Store: c.st, Auth: auth.New(lookup{c.st}, auth.Options{HashParams: p}),
		PlaintextNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ic := &imapConn{c: bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn))}
	ic.c.ReadString('\n') // greeting
	ic.cmd(b, "LOGIN bob@example.test secret")
	start := time.Now()
	ic.cmd(b, "SELECT INBOX")
	selectTime := time.Since(start)
	var lines []string
	cpu := cpuTime() // the server runs in this process
	for b.Loop() {
		lines = ic.cmd(b, `SEARCH BODY "quokka"`)
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(selectTime.Milliseconds()), "select-ms")
	if len(lines) != 1 || len(strings.Fields(lines[0])) != 1002 { // "* SEARCH" and 1,000 numbers
		b.Fatalf("SEARCH answered %d lines, %q…", len(lines), lines[0][:min(len(lines[0]), 40)])
	}
}
