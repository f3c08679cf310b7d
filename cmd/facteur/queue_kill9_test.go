package main

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Queued mail survives kill -9: messages accepted for a remote domain
// whose server is down are all delivered after a restart, once the
// server is up.
func TestQueueSurvivesKill9(t *testing.T) {
	in := newInstance(t)
	remote := freePort(t)
	cfg, _ := os.ReadFile(in.config)
	cfg = append(cfg, []byte("[outbound]\nretry = [\"1h\"]\n[outbound.routes]\n\"remote.test\" = \""+remote+"\"\n")...)
	os.WriteFile(in.config, cfg, 0o600)
	in.start()
	in.admin("", "domain", "add", "example.test")
	in.admin("secret password\n", "user", "add", "--password-stdin", "alice@example.test")
	const n = 5
	for i := range n {
		msg := "From: <alice@example.test>\r\nTo: <bob@remote.test>\r\nSubject: durable " + string(rune('a'+i)) + "\r\n\r\nbody\r\n"
		if err := in.submitAs("alice@example.test", "secret password", []string{"bob@remote.test"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	in.kill9()
	in.start()
	if list, _ := in.queueCmd("list"); !strings.Contains(list, "5 message(s)") {
		t.Fatalf("queue after kill -9:\n%s", list)
	}
	sk := &sink{}
	srv := smtp.NewServer(sk)
	l, err := net.Listen("tcp", remote)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	if out, code := in.queueCmd("flush"); code != 0 {
		t.Fatalf("flush: %s", out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(sk.received()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := sk.received(); len(got) != n {
		t.Fatalf("%d of %d delivered after restart", len(got), n)
	}
}
