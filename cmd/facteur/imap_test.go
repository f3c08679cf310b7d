package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests drive the built binary's IMAP listeners with the clients a
// new user would try: Python's imaplib and mbsync (isync). .ci/run
// installs them.

// mailInstance is an instance with the listeners mail clients use (pop3,
// pop3s, imap, imaps, managesieve), a user alice with n messages delivered over SMTP,
// and the path of its self-signed certificate.
type mailInstance struct {
	*instance
	pop3, pop3s, imap, imaps, sieve, cert string
}

func newMailInstance(t *testing.T, n int, extraConfig ...string) *mailInstance {
	t.Helper()
	in := &mailInstance{instance: newInstance(t), pop3: freePort(t), pop3s: freePort(t), imap: freePort(t), imaps: freePort(t), sieve: freePort(t)}
	cfg, err := os.ReadFile(in.config)
	if err != nil {
		t.Fatal(err)
	}
	text := string(cfg)
	for key, addr := range map[string]string{"pop3": in.pop3, "pop3s": in.pop3s, "imap": in.imap, "imaps": in.imaps, "managesieve": in.sieve} {
		text = strings.Replace(text, key+` = ""`, fmt.Sprintf("%s = %q", key, addr), 1)
	}
	text += strings.Join(extraConfig, "")
	if err := os.WriteFile(in.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	in.start()
	in.cert = filepath.Join(in.dir, "data", "selfsigned.crt")
	in.admin("", "domain", "add", "example.test")
	in.admin("secret password\n", "user", "add", "--password-stdin", "alice@example.test")
	for i := range n {
		msg := fmt.Sprintf("From: <bob@remote.test>\r\nTo: <alice@example.test>\r\nSubject: message %d\r\nMessage-ID: <m%d@remote.test>\r\n\r\n.dot line\r\nbody %d\r\n", i, i, i)
		if err := sendMX(in.smtp, "bob@remote.test", []string{"alice@example.test"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

// TestImaplibSession runs the session of the issue with Python's imaplib
// over STARTTLS: LIST, SELECT, SEARCH, FETCH, STORE, COPY, MOVE, EXPUNGE.
func TestImaplibSession(t *testing.T) {
	python := tool(t, "python3")
	in := newMailInstance(t, 3)
	script := `
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
assert "LOGINDISABLED" in M.capabilities, M.capabilities
M.starttls(ctx)
M.login("alice@example.test", "secret password")
typ, boxes = M.list()
names = [b.decode().rsplit(' ', 1)[1] for b in boxes]
assert typ == "OK" and "INBOX" in names and "Trash" in names, boxes
typ, data = M.select("INBOX")
assert data == [b"3"], data
typ, data = M.search(None, "UNSEEN")
assert data == [b"1 2 3"], data
typ, data = M.fetch("2", "(RFC822)")
assert b"Subject: message 1" in data[0][1], data
typ, data = M.search(None, "SEEN")
assert data == [b"2"], data
typ, data = M.store("1", "+FLAGS", "(\\Flagged)")
assert b"\\Flagged" in data[0], data
typ, data = M.copy("1:2", "Archive")
assert typ == "OK", data
typ, data = M.uid("MOVE", "3", "Trash")
assert typ == "OK", data
typ, data = M.store("1", "+FLAGS", "(\\Deleted)")
typ, data = M.expunge()
assert data[-1] == b"1", data  # imaplib also returns MOVE's EXPUNGE 3
typ, data = M.search(None, "ALL")
assert data == [b"1"], data
typ, data = M.status("Archive", "(MESSAGES UNSEEN)")
assert b"MESSAGES 2" in data[0] and b"UNSEEN 1" in data[0], data
typ, data = M.status("Trash", "(MESSAGES)")
assert b"MESSAGES 1" in data[0], data
M.logout()
print("ok")
`
	out, err := exec.Command(python, "-c", script, port(in.imap), in.cert).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}

// TestMbsyncRoundTrip syncs alice's account to a local Maildir and back
// with mbsync over IMAPS, several times: no errors, no duplicates.
func TestMbsyncRoundTrip(t *testing.T) {
	mbsync := tool(t, "mbsync")
	in := newMailInstance(t, 3)
	home := t.TempDir()
	maildir := filepath.Join(home, "Mail")
	if err := os.Mkdir(maildir, 0o700); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(home, "mbsyncrc")
	os.WriteFile(rc, []byte(fmt.Sprintf(`IMAPAccount facteur
Host 127.0.0.1
Port %s
User alice@example.test
Pass "secret password"
SSLType IMAPS
CertificateFile %s

IMAPStore remote
Account facteur

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel alice
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`, port(in.imaps), in.cert, maildir, maildir)), 0o600)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(mbsync, append([]string{"-c", rc, "-a"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+home)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s\nserver:\n%s", err, out, in.out.String())
		}
		return string(out)
	}
	// -Dn shows the IMAP conversation: mbsync turns COMPRESS=DEFLATE on.
	if out := run("-Dn"); !strings.Contains(out, "COMPRESS DEFLATE") {
		t.Errorf("mbsync did not use COMPRESS=DEFLATE:\n%s", out)
	}
	if n := countMaildir(t, filepath.Join(maildir, "INBOX")); n != 3 {
		t.Fatalf("Maildir INBOX has %d messages after the first sync", n)
	}
	// A message written locally goes up on the next sync.
	local := "From: alice@example.test\r\nSubject: written offline\r\n\r\nhi\r\n"
	os.WriteFile(filepath.Join(maildir, "INBOX", "new", "1700000000.local.host"), []byte(local), 0o600)
	run()
	run()
	if got := in.inboxCount("alice@example.test"); got != "messages=4" {
		t.Fatalf("server INBOX %s after syncing up", got)
	}
	if n := countMaildir(t, filepath.Join(maildir, "INBOX")); n != 4 {
		t.Fatalf("Maildir INBOX has %d messages after three syncs", n)
	}
	if n := countMaildir(t, filepath.Join(maildir, "Trash")); n != 0 {
		t.Fatalf("Trash has %d messages", n)
	}
}

// countMaildir counts the messages in a Maildir folder's new and cur.
func countMaildir(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		n += len(entries)
	}
	return n
}
