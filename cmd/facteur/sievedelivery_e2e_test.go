package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// msClient is a small ManageSieve client (RFC 5804) for the tests: it
// speaks to the built binary over STARTTLS with AUTHENTICATE PLAIN.
type msClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialManageSieve(t *testing.T, addr, user, pass string) *msClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &msClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.response() // the greeting: capabilities, then OK
	if resp := c.cmd("STARTTLS"); !strings.HasPrefix(resp, "OK") {
		t.Fatalf("STARTTLS: %s", resp)
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.response() // RFC 5804 §2.2: the capabilities again, over TLS
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	if resp := c.cmd(`AUTHENTICATE "PLAIN" "` + auth + `"`); !strings.HasPrefix(resp, "OK") {
		t.Fatalf("AUTHENTICATE: %s", resp)
	}
	return c
}

// cmd sends a command line and returns the final response line, after
// the lines before it.
func (c *msClient) cmd(line string) string {
	c.t.Helper()
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c.conn, "%s\r\n", line); err != nil {
		c.t.Fatal(err)
	}
	return c.response()
}

// putScript uploads a script as a literal and returns the response.
func (c *msClient) putScript(name, script string) string {
	c.t.Helper()
	return c.cmd(fmt.Sprintf("PUTSCRIPT %q {%d+}\r\n%s", name, len(script), script))
}

// response reads lines up to OK, NO or BYE and returns that one (with a
// literal reason read in).
func (c *msClient) response() string {
	c.t.Helper()
	var all []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v after %q", err, all)
		}
		line = strings.TrimRight(line, "\r\n")
		if n := literalLen(line); n >= 0 {
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				c.t.Fatal(err)
			}
			rest, _ := c.r.ReadString('\n')
			line = line[:strings.LastIndexByte(line, '{')] + string(buf) + strings.TrimRight(rest, "\r\n")
		}
		all = append(all, line)
		for _, p := range []string{"OK", "NO", "BYE"} {
			if strings.HasPrefix(line, p) {
				return line
			}
		}
	}
}

func literalLen(line string) int {
	if !strings.HasSuffix(line, "}") {
		return -1
	}
	i := strings.LastIndexByte(line, '{')
	n := 0
	if i < 0 || i == len(line)-2 {
		return -1
	}
	for _, ch := range line[i+1 : len(line)-1] {
		if ch < '0' || ch > '9' {
			return -1
		}
		n = n*10 + int(ch-'0')
	}
	return n
}

const sieveE2EScript = `require ["fileinto", "mailbox", "imap4flags", "reject", "vacation"];
# Mail from the Go list goes to a folder the script creates.
if header :contains "list-id" "<golang-nuts.googlegroups.com>" {
	fileinto :create "Lists/Go";
	stop;
}
if address :is "from" "boss@remote.test" {
	addflag "\\Flagged";
}
if header :contains "subject" "buy now" {
	reject "No advertising, thanks.";
	stop;
}
vacation :days 7 :subject "Away" :addresses ["alice@example.test"] "I am away until Monday.";
`

// A script uploaded over ManageSieve files list mail into a folder it
// creates, flags mail from a sender, refuses a subject with 550 at DATA
// and answers the first message of a sender once (not a list message);
// a script with a syntax error is refused with its line, and the active
// script stays; a script that redirects in a loop falls back to keep.
func TestSieveDeliveryEndToEnd(t *testing.T) {
	python := tool(t, "python3")
	// Mail for remote.test waits in the queue: its "MX" does not answer.
	in := newMailInstance(t, 0, "[outbound]\nretry = [\"1h\"]\n[outbound.routes]\n\"remote.test\" = \""+freePort(t)+"\"\n")
	addr := in.sieve
	c := dialManageSieve(t, addr, "alice@example.test", "secret password")
	if resp := c.putScript("main", sieveE2EScript); !strings.HasPrefix(resp, "OK") {
		t.Fatalf("PUTSCRIPT: %s", resp)
	}
	if resp := c.cmd(`SETACTIVE "main"`); !strings.HasPrefix(resp, "OK") {
		t.Fatalf("SETACTIVE: %s", resp)
	}
	// A syntax error on line 3 is refused, naming the line; main stays active.
	if resp := c.putScript("broken", "require \"fileinto\";\nkeep;\nif header :is \"subject\" { stop;\n"); !strings.HasPrefix(resp, "NO") || !strings.Contains(resp, "3") {
		t.Fatalf("PUTSCRIPT of a broken script: %s", resp)
	}
	if list := in.admin("", "sieve", "list", "alice@example.test"); !strings.Contains(list, "main") || strings.Contains(list, "broken") {
		t.Fatalf("sieve list: %q", list)
	}

	send := func(from, subject, extra string) string {
		msg := fmt.Sprintf("From: <%s>\r\nTo: <alice@example.test>\r\nSubject: %s\r\nMessage-ID: <%d@remote.test>\r\n%s\r\nbody\r\n", from, subject, time.Now().UnixNano(), extra)
		return mxSession(in.smtp, from, "alice@example.test", msg)
	}
	if r := send("gopher@remote.test", "generics", "List-Id: Go <golang-nuts.googlegroups.com>\r\n"); r != "250" {
		t.Fatalf("list mail: %s", r)
	}
	if r := send("boss@remote.test", "report", ""); r != "250" {
		t.Fatalf("boss: %s", r)
	}
	if r := send("boss@remote.test", "report again", ""); r != "250" {
		t.Fatalf("boss again: %s", r)
	}
	if r := send("shop@remote.test", "buy now!", ""); !strings.HasPrefix(r, "550") || !strings.Contains(r, "No advertising") {
		t.Fatalf("refused subject: %s", r)
	}
	// One vacation reply, to the boss, with the null sender: not to the
	// list, not twice.
	q := in.admin("", "queue", "list")
	if strings.Count(q, "boss@remote.test") != 1 || strings.Contains(q, "gopher@remote.test") {
		t.Fatalf("queue (vacation replies):\n%s", q)
	}

	check := `
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
M.starttls(ctx)
M.login("alice@example.test", "secret password")
typ, data = M.select('"Lists/Go"')
assert typ == "OK" and data == [b"1"], (typ, data)
typ, data = M.select("INBOX")
assert data == [b"2"], data
typ, data = M.fetch("1:2", "(FLAGS)")
assert all(b"\\Flagged" in d for d in data), data
M.logout()
`
	out, err := exec.Command(python, "-c", check, port(in.imap), in.cert).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}

	// A script that redirects to itself 1,000 times is stopped by the
	// redirect limit: the message is kept.
	loop := "require \"variables\";\n" + strings.Repeat("redirect \"alice@example.test\";\n", 1000)
	if resp := c.putScript("loop", loop); !strings.HasPrefix(resp, "OK") {
		t.Fatalf("PUTSCRIPT loop: %s", resp)
	}
	if resp := c.cmd(`SETACTIVE "loop"`); !strings.HasPrefix(resp, "OK") {
		t.Fatalf("SETACTIVE loop: %s", resp)
	}
	if r := send("friend@remote.test", "hello", ""); r != "250" {
		t.Fatalf("with the loop script: %s", r)
	}
	if n := in.inboxCount("alice@example.test"); n != "messages=3" {
		t.Fatalf("INBOX holds %s after the loop script, want 3", n)
	}
}

// facteur sieve check prints each compile error as FILE:LINE:COLUMN:
// message and exits 1; a good script prints OK.
func TestSieveCheck(t *testing.T) {
	dir := t.TempDir()
	good, bad := dir+"/good.sieve", dir+"/bad.sieve"
	os.WriteFile(good, []byte("require \"fileinto\";\nfileinto \"Archive\";\n"), 0o600)
	os.WriteFile(bad, []byte("require \"fileinto\";\n\nfileinto;\nfrobnicate \"x\";\n"), 0o600)
	out, err := exec.Command(binary(t), "sieve", "check", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "good.sieve: OK") {
		t.Fatalf("a good script: %v\n%s", err, out)
	}
	out, err = exec.Command(binary(t), "sieve", "check", bad).Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), bad+":3:") || !strings.Contains(string(out), bad+":4:") {
		t.Fatalf("a bad script: %v\n%s", err, out)
	}
}

// Global scripts are read from sieve.global_dir by plain name only.
func TestSieveGlobal(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/spam.sieve", []byte("keep;\n"), 0o600)
	read := sieveGlobal(dir)
	for _, name := range []string{"spam", "spam.sieve"} {
		if b, err := read(name); err != nil || string(b) != "keep;\n" {
			t.Fatalf("%s: %q %v", name, b, err)
		}
	}
	for _, bad := range []string{"../spam", "/etc/passwd", ".hidden", ""} {
		if _, err := read(bad); err == nil {
			t.Fatalf("%q was read", bad)
		}
	}
}
