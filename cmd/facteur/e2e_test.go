package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"facteur.dev/facteur/internal/testutil"
)

// These tests build the real binary and drive it as an administrator would:
// config file, CLI commands beside the running server, SMTP on real sockets.

var buildOnce struct {
	sync.Once
	path string
	err  error
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "facteur-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "facteur")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// handedOut holds every port freePort has returned in this test binary: the
// kernel may hand a port just closed out again, and two listeners of one
// instance on the same port make it fail to start.
var handedOut sync.Map

func freePort(t *testing.T) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, taken := handedOut.LoadOrStore(addr, true); !taken {
			return addr
		}
	}
}

type instance struct {
	t                *testing.T
	bin, dir, config string
	smtp, sub, subs  string
	cmd              *exec.Cmd
	out              *testutil.SyncBuffer
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	in := &instance{t: t, bin: binary(t), dir: t.TempDir()}
	in.smtp, in.sub, in.subs = freePort(t), freePort(t), freePort(t)
	in.config = filepath.Join(in.dir, "facteur.toml")
	cfg := fmt.Sprintf(`hostname = "mx.example.test"
data_dir = %q
[listen]
smtp = %q
submission = %q
submissions = %q
imap = ""
imaps = ""
pop3 = ""
pop3s = ""
lmtp = "unix:%s/lmtp.sock"
http = ""
managesieve = ""
[auth]
failure_delay = "10ms"
`, filepath.Join(in.dir, "data"), in.smtp, in.sub, in.subs, in.dir)
	if err := os.WriteFile(in.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return in
}

// admin runs a CLI command and returns its standard output.
func (in *instance) admin(stdin string, args ...string) string {
	in.t.Helper()
	cmd := exec.Command(in.bin, append([]string{"--config", in.config}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		in.t.Fatalf("facteur %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

func (in *instance) start() {
	in.t.Helper()
	in.out = &testutil.SyncBuffer{}
	in.cmd = exec.Command(in.bin, "--config", in.config, "serve")
	in.cmd.Stdout, in.cmd.Stderr = in.out, in.out
	if err := in.cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	in.t.Cleanup(func() {
		if in.cmd.ProcessState == nil {
			in.cmd.Process.Kill()
			in.cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", in.smtp); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	in.t.Fatalf("server did not start:\n%s", in.out.String())
}

func (in *instance) kill9() {
	in.cmd.Process.Signal(syscall.SIGKILL)
	in.cmd.Wait()
}

func (in *instance) inboxCount(user string) string {
	in.t.Helper()
	for _, l := range strings.Split(in.admin("", "mailbox", "status", user), "\n") {
		if strings.HasPrefix(l, "INBOX ") {
			return strings.Fields(l)[1]
		}
	}
	in.t.Fatalf("no INBOX line for %s", user)
	return ""
}

func TestServeAndAdminAsANewUserWould(t *testing.T) {
	in := newInstance(t)
	in.start()
	in.admin("", "domain", "add", "example.test")
	in.admin("secret password\n", "user", "add", "--password-stdin", "alice@example.test")
	if got := in.admin("", "user", "list"); !strings.Contains(got, "alice@example.test") {
		t.Fatalf("user list: %q", got)
	}
	msg := "From: <bob@remote.test>\r\nTo: <alice@example.test>\r\nSubject: hi\r\n\r\nhello\r\n"
	if err := sendMX(in.smtp, "bob@remote.test", []string{"alice@example.test"}, []byte(msg)); err != nil {
		t.Fatalf("MX delivery: %v", err)
	}
	if got := in.inboxCount("alice@example.test"); got != "messages=1" {
		t.Fatalf("after one message: %s", got)
	}
	err := sendMX(in.smtp, "bob@remote.test", []string{"victim@elsewhere.test"}, []byte(msg))
	if err == nil || !strings.Contains(err.Error(), "5.7.1") {
		t.Fatalf("relay attempt: %v", err)
	}
	// The running server sees a password change at once.
	in.admin("another password\n", "user", "passwd", "--password-stdin", "alice@example.test")
	if err := authSubmission(in.sub, "secret password"); err == nil {
		t.Fatal("old password still accepted")
	}
	if err := authSubmission(in.sub, "another password"); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
}

func authSubmission(addr, password string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		return err
	}
	return c.Auth(smtp.PlainAuth("", "alice@example.test", password, "127.0.0.1"))
}

func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	in := newInstance(t)
	in.start()
	in.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- in.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, in.out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop on SIGTERM")
	}
	if !strings.Contains(in.out.String(), "stopped") {
		t.Fatalf("no clean stop logged:\n%s", in.out.String())
	}
}

// TestKill9LosesNothingAcknowledged sends a burst from concurrent clients,
// kills the server with SIGKILL in the middle, and checks that every
// message that got a 250 is in the mailbox after a restart.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	in := newInstance(t)
	in.admin("", "domain", "add", "example.test")
	in.admin("secret password\n", "user", "add", "--password-stdin", "alice@example.test")
	in.start()
	var acked atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			burst(ctx, in.smtp, &acked)
		}()
	}
	for acked.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	in.kill9()
	cancel()
	wg.Wait()
	in.start()
	got := in.inboxCount("alice@example.test")
	var n int64
	fmt.Sscanf(got, "messages=%d", &n)
	if n < acked.Load() {
		t.Fatalf("acknowledged %d messages, %d survived kill -9", acked.Load(), n)
	}
	t.Logf("acknowledged %d, stored %d (the difference were in flight when killed)", acked.Load(), n)
}

// burst sends messages on one connection until it breaks, counting 250s.
func burst(ctx context.Context, addr string, acked *atomic.Int64) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	reply := func() string {
		var last string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return "error"
			}
			last = l
			if len(l) < 4 || l[3] != '-' {
				return last
			}
		}
	}
	reply()
	fmt.Fprintf(conn, "EHLO burst\r\n")
	reply()
	for i := 0; ctx.Err() == nil; i++ {
		fmt.Fprintf(conn, "MAIL FROM:<b@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
		if !strings.HasPrefix(reply(), "250") || !strings.HasPrefix(reply(), "250") || !strings.HasPrefix(reply(), "354") {
			return
		}
		fmt.Fprintf(conn, "Subject: burst %d\r\n\r\nbody\r\n.\r\n", i)
		if !strings.HasPrefix(reply(), "250") {
			return
		}
		acked.Add(1)
	}
}

// sendMX sends one message over plain SMTP, as a remote MTA without TLS.
func sendMX(addr, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
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
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// TestDevelopmentInstance runs the README's start command as a newcomer
// would: no config file, in an empty directory.
func TestDevelopmentInstance(t *testing.T) {
	dir := t.TempDir()
	out := &testutil.SyncBuffer{}
	base := freeRange(t, 8)
	cmd := exec.Command(binary(t), "serve", "--dev-ports-from", strconv.Itoa(base))
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", base)
	var c net.Conn
	var err error
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(20 * time.Millisecond) {
		if c, err = net.Dial("tcp", smtpAddr); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("development instance not listening on %s: %v\n%s", smtpAddr, err, out.String())
	}
	c.Close()
	for _, f := range []string{"facteur-data/index.db", "facteur-data/selfsigned.crt", "facteur-data/selfsigned.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for start := time.Now(); time.Since(start) < 10*time.Second && !strings.Contains(out.String(), "mailbox status"); {
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{fmt.Sprintf("127.0.0.1:%d", base+1), fmt.Sprintf("127.0.0.1:%d", base+2), "facteur user add",
		"swaks --server " + smtpAddr} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
}

// freeRange returns the first of n consecutive free loopback ports.
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 100; try++ {
		base := 20000 + rand.IntN(40000)
		var held []net.Listener
		for i := range n {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if _, taken := handedOut.LoadOrStore(fmt.Sprintf("range:%d", base), true); len(held) == n && !taken {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// A development instance whose ports are taken names every one that is,
// and how to move them, in one message; it exits 1.
func TestServeNamesEveryTakenPort(t *testing.T) {
	base := freeRange(t, 8)
	for _, i := range []int{0, 3} { // smtp and imap
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
	}
	cmd := exec.Command(binary(t), "serve", "--dev-ports-from", strconv.Itoa(base))
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1:\n%s", err, out)
	}
	for _, want := range []string{fmt.Sprintf("listen.smtp 127.0.0.1:%d", base), fmt.Sprintf("listen.imap 127.0.0.1:%d", base+3),
		"2 listener(s) cannot bind", "--dev-ports-from"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
