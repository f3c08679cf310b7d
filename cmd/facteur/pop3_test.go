package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// These tests drive the built binary's POP3 listeners with the real
// clients a new user would try: fetchmail, Python's poplib and curl.
// .ci/run installs them. Like the other tests of the built binary they do
// not run in parallel: an instance's ports come from freePort, which
// releases them before the server binds them.

// tool returns the path of an installed client; in CI a missing one fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run should install it", name)
		}
		t.Skipf("%s not installed (see the apt-get line in .ci/run)", name)
	}
	return path
}

// port returns the port of a host:port address.
func port(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

func TestFetchmailOverSTLS(t *testing.T) {
	fetchmail := tool(t, "fetchmail")
	python := tool(t, "python3")
	in := newMailInstance(t, 3)
	home := t.TempDir()
	mbox := filepath.Join(home, "mbox")
	// The MDA appends each message to an mbox with Python's mailbox module.
	mda := filepath.Join(home, "tombox.py")
	os.WriteFile(mda, []byte("import mailbox, sys\nm = mailbox.mbox(sys.argv[1])\nm.lock()\nm.add(sys.stdin.buffer.read())\nm.flush()\nm.unlock()\n"), 0o600)
	rc := filepath.Join(home, "fetchmailrc")
	os.WriteFile(rc, []byte(fmt.Sprintf(`set no bouncemail
poll 127.0.0.1 service %s protocol pop3
  user "alice@example.test" there with password "secret password" is "alice" here
  sslproto "tls1.2+" sslcertck sslcertfile %q
  fetchall nokeep
  mda "%s %s %s"
`, port(in.pop3), in.cert, python, mda, mbox)), 0o600)
	run := func() (string, int) {
		cmd := exec.Command(fetchmail, "--fetchmailrc", rc, "--nodetach", "--nosyslog", "-v",
			"--idfile", filepath.Join(home, "ids"), "--pidfile", filepath.Join(home, "pid"))
		cmd.Env = append(os.Environ(), "HOME="+home, "FETCHMAILHOME="+home)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := run()
	t.Logf("fetchmail:\n%s", out)
	if code != 0 || !strings.Contains(out, "STLS") {
		t.Fatalf("fetchmail exit %d:\n%s", code, out)
	}
	data, err := os.ReadFile(mbox)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count("\n"+string(data), "\nFrom "); n != 3 ||
		!strings.Contains(string(data), "Subject: message 2") || !strings.Contains(string(data), "\n.dot line") {
		t.Fatalf("mbox after fetchmail:\n%s", data)
	}
	if got := in.inboxCount("alice@example.test"); got != "messages=0" {
		t.Fatalf("INBOX after fetchmail: %s\n%s", got, out)
	}
	// fetchmail exits 1 for "no mail".
	if out, code = run(); code != 1 {
		t.Fatalf("second fetchmail run: exit %d\n%s", code, out)
	}
}

func TestPoplibTopAndUidl(t *testing.T) {
	python := tool(t, "python3")
	in := newMailInstance(t, 2)
	script := `
import poplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[3])
p = poplib.POP3("127.0.0.1", int(sys.argv[1]))
p.stls(ctx)   # checks the certificate for 127.0.0.1
caps = p.capa()
assert "TOP" in caps and "UIDL" in caps and "USER" in caps and "STLS" not in caps, caps
p.user("alice@example.test")
p.pass_("secret password")
resp, uids, _ = p.uidl()
first = [u.split()[1] for u in uids]
resp, lines, _ = p.top(1, 1)
assert lines[-1] == b"..dot line" or lines[-1] == b".dot line", lines
assert b"Subject: message 0" in lines and b"body 0" not in lines, lines
p.dele(1)
p.quit()
p = poplib.POP3_SSL("127.0.0.1", int(sys.argv[2]), context=ctx)
p.user("alice@example.test")
p.pass_("secret password")
resp, uids, _ = p.uidl()
second = [u.split()[1] for u in uids]
assert second == first[1:], (first, second)
print("ok", len(first), len(second))
p.quit()
`
	out, err := exec.Command(python, "-c", script, port(in.pop3), port(in.pop3s), in.cert).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok 2 1" {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
}

func TestCurlListsMaildropOverPOP3S(t *testing.T) {
	curl := tool(t, "curl")
	in := newMailInstance(t, 2)
	out, err := exec.Command(curl, "--silent", "--show-error", "--cacert", in.cert,
		"--user", "alice@example.test:secret password", "pop3s://"+in.pop3s+"/").CombinedOutput()
	lines := strings.Fields(strings.ReplaceAll(string(out), "\r\n", " "))
	if err != nil || len(lines) != 4 || lines[0] != "1" || lines[2] != "2" {
		t.Fatalf("curl pop3s LIST: %v\n%q", err, out)
	}
	out, err = exec.Command(curl, "--silent", "--show-error", "--cacert", in.cert,
		"--user", "alice@example.test:secret password", "pop3s://"+in.pop3s+"/2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Subject: message 1") {
		t.Fatalf("curl pop3s RETR 2: %v\n%s", err, out)
	}
}

// An IMAP client idling in INBOX (go-imap's imapclient) sees a POP3
// session's deletion as an EXPUNGE once the POP3 QUIT has applied it
// (RFC 1939 §6: DELE only marks).
func TestIMAPSeesPOP3Deletion(t *testing.T) {
	in := newMailInstance(t, 2)
	pem, err := os.ReadFile(in.cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tlsConf := &tls.Config{RootCAs: roots}
	expunged := make(chan uint32, 4)
	c, err := imapclient.DialTLS(in.imaps, &imapclient.Options{TLSConfig: tlsConf,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Expunge: func(seq uint32) { expunged <- seq }}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.test", "secret password").Wait(); err != nil {
		t.Fatal(err)
	}
	if sel, err := c.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 2 {
		t.Fatalf("SELECT INBOX: %v %+v", err, sel)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}

	pop, err := tls.Dial("tcp", in.pop3s, tlsConf)
	if err != nil {
		t.Fatal(err)
	}
	defer pop.Close()
	pop.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(pop)
	for _, cmd := range []string{"", "USER alice@example.test", "PASS secret password", "DELE 1", "QUIT"} {
		if cmd == "QUIT" {
			select {
			case seq := <-expunged:
				t.Fatalf("EXPUNGE %d before the POP3 session's QUIT", seq)
			default:
			}
		}
		if cmd != "" {
			fmt.Fprintf(pop, "%s\r\n", cmd)
		}
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+OK") {
			t.Fatalf("POP3 %q: %q %v", cmd, l, err)
		}
	}

	select {
	case seq := <-expunged:
		if seq != 1 {
			t.Fatalf("IMAP saw EXPUNGE %d, want 1", seq)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("IMAP saw no EXPUNGE after the POP3 deletion")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != "message 1" {
		t.Fatalf("FETCH 1 after the expunge: %v %+v", err, msgs)
	}
}
