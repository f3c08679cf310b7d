package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/foxcpp/go-mockdns"

	fdkim "facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/queue"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/sqlite"
)

// submitAs sends msg through in's submission port with STARTTLS and AUTH.
func (in *instance) submitAs(user, password string, to []string, msg string) error {
	c, err := smtp.Dial(in.sub)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		return err
	}
	if err := c.Auth(smtp.PlainAuth("", user, password, "127.0.0.1")); err != nil {
		return err
	}
	if err := c.Mail(user); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	io.WriteString(w, msg)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// inbox reads user's INBOX messages from in's store, beside the server.
func (in *instance) inbox(user string) []string {
	in.t.Helper()
	return in.mailbox(user, "INBOX")
}

// mailbox reads the messages of one of user's mailboxes from in's store,
// beside the server.
func (in *instance) mailbox(user, name string) []string {
	in.t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(in.dir, "data"), sqlite.Options{Fsync: true})
	if err != nil {
		in.t.Fatal(err)
	}
	defer s.Close()
	a, err := s.LookupAccount(ctx, user)
	if err != nil {
		in.t.Fatal(err)
	}
	mb, err := s.GetMailbox(ctx, a.ID, name)
	if err != nil {
		in.t.Fatal(err)
	}
	msgs, err := s.Messages(ctx, mb.ID, false)
	if err != nil {
		in.t.Fatal(err)
	}
	var out []string
	for i := range msgs {
		b, err := store.OpenMessage(ctx, s.Blobs(), &msgs[i]) // with the header prefix the checks added
		if err != nil {
			in.t.Fatal(err)
		}
		data, _ := io.ReadAll(b)
		b.Close()
		out = append(out, string(data))
	}
	return out
}

func (in *instance) waitInbox(user string, n int) []string {
	in.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := in.inbox(user); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("%s: fewer than %d messages in INBOX\n%s", user, n, in.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two Facteur binaries and a DNS server on loopback: alice@a.test sends
// to bob@b.test, found by MX. The message arrives DKIM-signed (both
// signatures verify against the TXT records in DNS); while b is down it
// waits in a's queue and arrives once b is back; an unknown recipient at
// b comes back to alice as a DSN naming the recipient and b's reply.
func TestTwoInstancesOverDNS(t *testing.T) {
	dnsSrv, err := mockdns.NewServerWithLogger(map[string]mockdns.Zone{
		"b.test.":    {MX: []net.MX{{Host: "mx.b.test.", Pref: 10}}},
		"mx.b.test.": {A: []string{"127.0.0.1"}},
	}, nopLogger{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer dnsSrv.Close()
	dnsAddr := dnsSrv.LocalAddr().String()

	a, b := newInstance(t), newInstance(t)
	_, bPort, _ := net.SplitHostPort(b.smtp)
	cfg, _ := os.ReadFile(a.config)
	cfg = append(cfg, []byte("[outbound]\nresolver = \""+dnsAddr+"\"\nport = "+bPort+"\nretry = [\"1s\"]\n")...)
	os.WriteFile(a.config, cfg, 0o600)
	a.start()
	b.start()
	a.admin("", "domain", "add", "a.test")
	a.admin("alice password\n", "user", "add", "--password-stdin", "alice@a.test")
	b.admin("", "domain", "add", "b.test")
	b.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	recs, err := fdkim.New(filepath.Join(a.dir, "data")).Records("a.test")
	if err != nil || len(recs) != 2 {
		t.Fatalf("DKIM records %v %v", recs, err)
	}
	for _, r := range recs {
		dnsSrv.AppendRR(r.Name, 16 /* TXT */, r.Value)
	}

	msg := "From: Alice <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: across\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n\r\nHello Bob\r\n"
	if err := a.submitAs("alice@a.test", "alice password", []string{"bob@b.test"}, msg); err != nil {
		t.Fatal(err)
	}
	got := b.waitInbox("bob@b.test", 1)[0]
	res := &queue.DNSResolver{Server: dnsAddr, Timeout: 2 * time.Second}
	vs, err := dkim.VerifyWithOptions(strings.NewReader(got), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return res.LookupTXT(context.Background(), name) }})
	if err != nil || len(vs) != 2 {
		t.Fatalf("DKIM: %d signatures, %v\n%s", len(vs), err, got)
	}
	for _, v := range vs {
		if v.Err != nil || v.Domain != "a.test" {
			t.Fatalf("DKIM signature of %s: %v", v.Domain, v.Err)
		}
	}

	// b down: queued and retried (retry = 1s) until b is back.
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.cmd.Wait()
	if err := a.submitAs("alice@a.test", "alice password", []string{"bob@b.test"},
		strings.Replace(msg, "across", "while down", 1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, _ := a.queueCmd("list")
		if strings.Contains(list, "deferred") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never deferred:\n%s", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.start()
	if got := b.waitInbox("bob@b.test", 2)[1]; !strings.Contains(got, "Subject: while down") {
		t.Fatalf("second message %q", got)
	}

	// b answers 550 for an unknown user: alice gets a DSN.
	if err := a.submitAs("alice@a.test", "alice password", []string{"nobody@b.test"},
		strings.Replace(msg, "across", "to nobody", 1)); err != nil {
		t.Fatal(err)
	}
	dsn := a.waitInbox("alice@a.test", 1)[0]
	for _, want := range []string{"Final-Recipient: rfc822; nobody@b.test", "Diagnostic-Code: smtp; 550 5.1.1",
		"Subject: to nobody", "report-type=delivery-status"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
