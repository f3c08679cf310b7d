package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// An admin turns on POP-before-SMTP: before any login, swaks without
// AUTH gets 530 5.7.0 on the submission port; once Python's poplib has
// logged in over POP3S from the same address, the same submission to a
// remote domain is queued and the log names the account whose login
// allowed it; the MX port still refuses to relay.
func TestPopBeforeSMTP(t *testing.T) {
	python := tool(t, "python3")
	in := newInstance(t)
	pop3s := freePort(t)
	remote := freePort(t) // nothing listens there: the message stays queued
	cfg, err := os.ReadFile(in.config)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(cfg), `pop3s = ""`, fmt.Sprintf("pop3s = %q", pop3s), 1) + `[submission]
pop_before_smtp = "10m"
[outbound]
retry = ["1h"]
[outbound.routes]
"remote.test" = "` + remote + `"
`
	if err := os.WriteFile(in.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	in.start()
	in.admin("", "domain", "add", "example.test")
	in.admin("secret password\n", "user", "add", "--password-stdin", "alice@example.test")
	send := func(server string) (string, error) {
		return swaks(t, "--server", server, "--from", "list@elsewhere.test", "--to", "friend@remote.test",
			"--header", "Subject: POP before SMTP")
	}

	if out, err := send(in.sub); err == nil || !strings.Contains(out, "530 5.7.0") {
		t.Fatalf("submission before any login (%v):\n%s", err, out)
	}
	script := `
import poplib, ssl, sys
p = poplib.POP3_SSL("127.0.0.1", int(sys.argv[1]), context=ssl._create_unverified_context())
p.user("alice@example.test")
p.pass_("secret password")
p.quit()
`
	if out, err := exec.Command(python, "-c", script, port(pop3s)).CombinedOutput(); err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	if out, err := send(in.sub); err != nil {
		t.Fatalf("submission after a POP3 login: %v\n%s", err, out)
	}
	if list, _ := in.queueCmd("list"); !strings.Contains(list, "list@elsewhere.test -> friend@remote.test") {
		t.Fatalf("queue list:\n%s", list)
	}
	if log := in.out.String(); !strings.Contains(log, "account=alice@example.test") {
		t.Fatalf("the log does not name the account:\n%s", log)
	}
	if out, err := send(in.smtp); err == nil || !strings.Contains(out, "550 5.7.1") {
		t.Fatalf("relay through the MX port (%v):\n%s", err, out)
	}
}
