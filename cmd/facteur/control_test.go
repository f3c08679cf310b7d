package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
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
