package main

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/config"
)

type nopServer struct{}

func (nopServer) Shutdown(context.Context) error { return nil }

// A listener whose Serve returns (here: its listener closed under it)
// is reported, naming the listener, so that serve shuts down and exits
// non-zero instead of running deaf on that port.
func TestListenerFailureReported(t *testing.T) {
	t.Parallel()
	serve := func(l net.Listener) error {
		l.Close()
		_, err := l.Accept()
		return err
	}
	r, err := serveOn(&config.Config{}, "pop3", "127.0.0.1:0", nopServer{}, serve, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = <-servers{r}.failed()
	if err == nil || !strings.Contains(err.Error(), "listen.pop3 on "+r.addr) {
		t.Fatalf("failed: %v", err)
	}
}
