package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is an SMTP server that keeps what it receives.
type sink struct {
	mu   sync.Mutex
	msgs []string
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct{ s *sink }

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Reset()                               {}
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, string(b))
	ss.s.mu.Unlock()
	return err
}

func (s *sink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// queueCmd runs 'facteur queue ARGS' and returns its output and exit code.
func (in *instance) queueCmd(args ...string) (string, int) {
	in.t.Helper()
	return in.run(append([]string{"queue"}, args...)...)
}

// run runs a CLI command and returns its output (standard output and
// error) and exit code.
func (in *instance) run(args ...string) (string, int) {
	in.t.Helper()
	return in.runStdin("", args...)
}

// runStdin is run with stdin as the command's standard input.
func (in *instance) runStdin(stdin string, args ...string) (string, int) {
	in.t.Helper()
	cmd := exec.Command(in.bin, append([]string{"--config", in.config}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		in.t.Fatal(err)
	}
	return out.String(), 0
}

// As a new user would: swaks submits to a remote domain whose server is
// down, 'facteur queue list' shows the message, and once the server is up
// 'facteur queue flush' delivers it, DKIM-signed.
func TestQueueWithSwaksAndCLI(t *testing.T) {
	in := newInstance(t)
	remote := freePort(t) // nothing listens yet: the first attempt fails
	cfg, _ := os.ReadFile(in.config)
	cfg = append(cfg, []byte(`[outbound]
retry = ["1h"]
[outbound.routes]
"remote.test" = "`+remote+`"
`)...)
	os.WriteFile(in.config, cfg, 0o600)
	in.start()
	if out := in.admin("", "domain", "add", "example.test"); !strings.Contains(out, "DKIM keys") {
		t.Fatalf("domain add: %s", out)
	}
	in.admin("secret password\n", "user", "add", "--password-stdin", "alice@example.test")
	zone := in.admin("", "domain", "dns", "example.test")
	for _, want := range []string{"example.test.", "IN MX    10 mx.example.test.", `"v=spf1 mx -all"`,
		"facteur-ed25519._domainkey.example.test.", `"v=DKIM1; k=rsa; p=`, "_dmarc.example.test.",
		"_mta-sts.example.test.", "_smtp._tls.example.test.", "_submissions._tcp.example.test.", "autoconfig.example.test."} {
		if !strings.Contains(zone, want) {
			t.Errorf("domain dns lacks %q:\n%s", want, zone)
		}
	}
	// SRV records for what this configuration serves, at its ports, and
	// "not offered" for the listeners that are off (issue 16 §7).
	for _, want := range []string{"IN SRV   0 1 " + port(in.subs) + " mx.example.test.", "_imap._tcp.example.test.                 3600 IN SRV   0 0 0 ."} {
		if !strings.Contains(zone, want) {
			t.Errorf("domain dns lacks %q:\n%s", want, zone)
		}
	}
	if fi, err := os.Stat(in.dir + "/data/control.sock"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v %v", fi, err)
	}

	out, err := swaks(t, "--server", in.sub, "--tls", "--auth", "PLAIN", "--auth-user", "alice@example.test",
		"--auth-password", "secret password", "--from", "alice@example.test", "--to", "bob@remote.test",
		"--header", "Subject: queued by swaks")
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	var list string
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, _ = in.queueCmd("list")
		if strings.Contains(list, "deferred") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(list, "alice@example.test -> bob@remote.test") || !strings.Contains(list, "deferred") ||
		!strings.Contains(list, "1 message(s)") {
		t.Fatalf("queue list:\n%s", list)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	if show, code := in.queueCmd("show", id); code != 0 || !strings.Contains(show, "bob@remote.test") {
		t.Fatalf("queue show (%d):\n%s", code, show)
	}
	if js, code := in.queueCmd("list", "--json"); code != 0 || !strings.Contains(js, `"recipients": [`) ||
		!strings.Contains(js, `"attempts": 1`) {
		t.Fatalf("queue list --json (%d):\n%s", code, js)
	}

	sk := &sink{}
	srv := smtp.NewServer(sk)
	srv.Domain = "mx.remote.test"
	l, err := net.Listen("tcp", remote)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	if out, code := in.queueCmd("flush"); code != 0 || !strings.Contains(out, "1 message(s)") {
		t.Fatalf("queue flush (%d): %s", code, out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(sk.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := sk.received()
	if len(got) != 1 || !strings.Contains(got[0], "Subject: queued by swaks") ||
		!strings.Contains(got[0], "d=example.test") || strings.Count(got[0], "DKIM-Signature:") != 2 {
		t.Fatalf("remote received %q", got)
	}
	for time.Now().Before(deadline) {
		if list, _ = in.queueCmd("list"); strings.Contains(list, "Queue is empty.") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(list, "Queue is empty.") {
		t.Fatalf("queue after delivery:\n%s", list)
	}

	if out, code := in.queueCmd("show", "999"); code != 1 || !strings.Contains(out, "no such queue entry") {
		t.Fatalf("show 999: %d %s", code, out)
	}
	if _, code := in.queueCmd("hold"); code != 2 {
		t.Fatalf("hold without ID: exit %d", code)
	}
	if out, code := in.queueCmd("--help"); code != 0 || !strings.Contains(out, "flush [ID]") {
		t.Fatalf("--help: %d %s", code, out)
	}
}
