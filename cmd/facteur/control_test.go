package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// Disabling an account ends its open IMAP and POP3 sessions at once; the
// CLI says how many (issue 16 §11).
func TestDisableEndsSessions(t *testing.T) {
	in := newMailInstance(t, 1)
	login := func(addr string, lines ...string) *bufio.Reader {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		r := bufio.NewReader(c)
		r.ReadString('\n') // greeting
		for _, l := range lines {
			fmt.Fprintf(c, "%s\r\n", l)
			for {
				reply, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				if strings.HasPrefix(reply, "+OK") || strings.HasPrefix(reply, "a OK") {
					break
				}
				if strings.HasPrefix(reply, "-ERR") || strings.HasPrefix(reply, "a NO") || strings.HasPrefix(reply, "a BAD") {
					t.Fatalf("%s: %s", l, reply)
				}
			}
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		return r
	}
	imap := login(in.imaps, `a LOGIN alice@example.test "secret password"`)
	pop := login(in.pop3s, "USER alice@example.test", "PASS secret password")
	if out := in.admin("", "user", "set", "alice@example.test", "--disable"); !strings.Contains(out, "ended 2 open session(s)") {
		t.Fatalf("user set --disable: %q", out)
	}
	for name, r := range map[string]*bufio.Reader{"imap": imap, "pop3": pop} {
		if _, err := io.ReadAll(r); err != nil {
			t.Fatalf("%s session not ended: %v", name, err)
		}
	}
	if n := in.inboxCount("alice@example.test"); n != "messages=1" {
		t.Fatalf("INBOX after the POP3 session was cut: %s", n)
	}
}

// Every login, good or bad, is one info line a fail2ban filter can
// match: result, protocol, mechanism, user and IP, never the password
// (issue 16 §9).
func TestLoginLogLines(t *testing.T) {
	in := newMailInstance(t, 0)
	try := func(addr, user, pass string) {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		r.ReadString('\n')
		fmt.Fprintf(c, "a LOGIN %s \"%s\"\r\n", user, pass)
		for {
			line, err := r.ReadString('\n')
			if err != nil || strings.HasPrefix(line, "a ") {
				return
			}
		}
	}
	try(in.imaps, "alice@example.test", "wrong guess")
	try(in.imaps, "alice@example.test", "secret password")
	for _, want := range []string{
		"msg=login part=auth result=failed protocol=imap mechanism=password user=alice@example.test ip=127.0.0.1",
		"msg=login part=auth result=ok protocol=imap mechanism=password user=alice@example.test ip=127.0.0.1",
	} {
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(in.out.String(), want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(in.out.String(), want) {
			t.Errorf("no line %q in the log:\n%s", want, in.out.String())
		}
	}
	if strings.Contains(in.out.String(), "wrong guess") {
		t.Fatal("a password is in the log")
	}
}

// One transaction ID ties a message's log lines together: received (with
// sender, recipients and Message-ID), delivered (per copy: recipient,
// account, mailbox, UID), queued, and each relay attempt (the relay and
// every recipient's reply) (issue 16 §9).
func TestMessageLogLines(t *testing.T) {
	in := newInstance(t)
	cfg, _ := os.ReadFile(in.config)
	os.WriteFile(in.config, append(cfg, "[outbound]\nretry = [\"1h\"]\n[outbound.routes]\n\"remote.test\" = \""+freePort(t)+"\"\n"...), 0o600)
	in.start()
	in.admin("", "domain", "add", "example.test")
	in.admin("a long password\n", "user", "add", "--password-stdin", "alice@example.test")
	in.admin("", "alias", "add", "fwd@example.test", "bob@remote.test")
	msg := "From: <carol@remote.test>\r\nSubject: hi\r\nMessage-ID: <log-test@remote.test>\r\n\r\nhello\r\n"
	if err := sendMX(in.smtp, "carol@remote.test", []string{"alice@example.test", "fwd@example.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	if r := mxSession(in.smtp, "carol@remote.test", "nobody@example.test", msg); !strings.HasPrefix(r, "5") {
		t.Fatalf("unknown user: %s", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !(strings.Contains(in.out.String(), "msg=\"relay attempt\"") && strings.Contains(in.out.String(), "msg=refused")) &&
		time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // the server's output reaches the buffer on its own goroutine
	}
	log := in.out.String()
	const received = "msg=received listener=smtp id="
	i := strings.Index(log, received)
	if i < 0 {
		t.Fatalf("no received line:\n%s", log)
	}
	id := strings.Fields(log[i+len(received):])[0]
	for _, want := range []string{
		received + id + " ip=127.0.0.1 from=carol@remote.test to=\"[alice@example.test fwd@example.test]\"",
		"message_id=log-test@remote.test",
		"msg=delivered part=delivery id=" + id + " from=carol@remote.test to=alice@example.test account=alice@example.test mailbox=INBOX uid=1",
		"msg=queued part=delivery id=" + id,
		"txn=" + id + " from=",
		"recipients=\"[bob@remote.test pending:",
		"msg=refused listener=smtp stage=RCPT ip=127.0.0.1 from=carol@remote.test to=nobody@example.test reply=\"550",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
