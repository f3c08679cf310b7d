// Command smtpsink is an SMTP server that accepts every message and
// discards it, counting: the baseline for SMTP benchmarks (what the wire
// and go-smtp cost with no storage) and a destination for relay benchmarks.
//
//	go run ./bench/smtpsink -addr 127.0.0.1:2600
//
// On SIGINT or SIGTERM it prints "received=N bytes=B" and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/emersion/go-smtp"
)

type counts struct{ msgs, bytes atomic.Int64 }

type session struct{ c *counts }

func (s session) Mail(string, *smtp.MailOptions) error { return nil }
func (s session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s session) Reset()                               {}
func (s session) Logout() error                        { return nil }
func (s session) Data(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	s.c.bytes.Add(n)
	if err == nil {
		s.c.msgs.Add(1)
	}
	return err
}

func newServer(c *counts) *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return session{c}, nil }))
	srv.Domain = "sink.test"
	srv.MaxMessageBytes = 64 << 20
	srv.EnableSMTPUTF8 = true
	return srv
}

func main() {
	addr := flag.String("addr", "127.0.0.1:2600", "address to listen on")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtpsink:", err)
		os.Exit(1)
	}
	var c counts
	srv := newServer(&c)
	go srv.Serve(l)
	fmt.Fprintf(os.Stderr, "smtpsink listening on %s\n", l.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	<-ctx.Done()
	stop()
	srv.Close()
	fmt.Printf("received=%d bytes=%d\n", c.msgs.Load(), c.bytes.Load())
}
