package imapd

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/imapd/fetch"
	"facteur.dev/facteur/internal/message"
)

// attachment is a message whose part 1 is "hello" and part 2 a base64
// attachment holding bytes with a NUL.
const attachment = "From: alice@example.test\r\nSubject: attachment\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
	"--b\r\nContent-Type: application/octet-stream; name=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"AAECYWJj\r\n--b--\r\n"

// aliceURL is the URL of a message of alice's INBOX, before ";URLAUTH=".
func aliceURL(uid int, section string) string {
	u := "imap://alice%40example.test@imap.example.test/INBOX/;uid=" + strconv.Itoa(uid)
	if section != "" {
		u += "/;section=" + section
	}
	return u
}

// urlauthEnv delivers two attachment messages to alice and returns a
// client logged in as alice and one logged in as bob.
func urlauthEnv(t *testing.T) (e *env, alice, bob *conn) {
	e = newEnv(t)
	e.deliver(e.alice, "INBOX", attachment, attachment)
	addr := e.start(nil)
	alice, bob = e.dial(addr), e.dial(addr)
	alice.login()
	bob.cmd("L", `LOGIN bob@example.test "`+password+`"`, "OK")
	return e, alice, bob
}

// genURL signs rump with GENURLAUTH and returns the URL.
func (c *conn) genURL(rump string) string {
	c.t.Helper()
	lines, _ := c.cmd("G", `GENURLAUTH "`+rump+`" INTERNAL`, "OK")
	want := `* GENURLAUTH "` + rump + ":internal:"
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) || len(lines[0]) != len(want)+40+1 {
		c.t.Fatalf("GENURLAUTH %s: %q", rump, lines)
	}
	return strings.TrimSuffix(strings.TrimPrefix(lines[0], `* GENURLAUTH "`), `"`)
}

// urlFetch runs URLFETCH with one argument and returns what follows
// `* URLFETCH "url" `, lines joined with "\n".
func (c *conn) urlFetch(url, arg string) string {
	c.t.Helper()
	lines, _ := c.cmd("F", "URLFETCH "+arg, "OK")
	got := strings.Join(lines, "\n")
	prefix := `* URLFETCH "` + url + `" `
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("URLFETCH %s: %q", arg, got)
	}
	return strings.TrimPrefix(got, prefix)
}

// fetchURL is URLFETCH "url" (RFC 4467).
func (c *conn) fetchURL(url string) string {
	c.t.Helper()
	return c.urlFetch(url, `"`+url+`"`)
}

// TestURLAuthAccess: a URL alice signs is fetched by the sessions its
// access identifier names, and by no other (RFC 4467 §3, §7.3).
func TestURLAuthAccess(t *testing.T) {
	t.Parallel()
	_, alice, bob := urlauthEnv(t)
	for _, tc := range []struct {
		access     string
		alice, bob bool
	}{
		{"anonymous", true, true},
		{"authuser", true, true},
		{"user+bob%40example.test", false, true},
		{"submit+bob%40example.test", false, true},
		{"user+alice%40example.test", true, false},
		{"submit+alice%40example.test", true, false},
	} {
		url := alice.genURL(aliceURL(1, "1") + ";urlauth=" + tc.access)
		for _, c := range []struct {
			conn *conn
			ok   bool
		}{{alice, tc.alice}, {bob, tc.bob}} {
			want := "NIL"
			if c.ok {
				want = "{5}\nhello"
			}
			if got := c.conn.fetchURL(url); got != want {
				t.Errorf("%s fetched by %s: %q, want %q", tc.access, map[*conn]string{alice: "alice", bob: "bob"}[c.conn], got, want)
			}
		}
	}
	// Only the owner signs; the message must exist; INTERNAL only.
	bob.cmd("a", `GENURLAUTH "`+aliceURL(1, "")+`;urlauth=authuser" INTERNAL`, "NO [BADURL ")
	alice.cmd("b", `GENURLAUTH "`+aliceURL(9, "")+`;urlauth=authuser" INTERNAL`, "NO [BADURL ")
	alice.cmd("c", `GENURLAUTH "`+aliceURL(1, "")+`" INTERNAL`, "NO [BADURL ")
	alice.cmd("d", `GENURLAUTH "`+aliceURL(1, "")+`;urlauth=authuser" XSAMPLE`, "NO ")
	// A plain URL, even of one's own message, is not fetched.
	if got := alice.fetchURL(aliceURL(1, "1")); got != "NIL" {
		t.Errorf("URL without URLAUTH: %q", got)
	}
}

// TestURLAuthTampered: a URL changed after signing is NIL, as is one of
// an account or mailbox that does not exist.
func TestURLAuthTampered(t *testing.T) {
	t.Parallel()
	_, alice, bob := urlauthEnv(t)
	url := alice.genURL(aliceURL(1, "1") + ";urlauth=authuser")
	token := url[len(url)-40:]
	flipped := string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", token[0])+1)%16]) + token[1:]
	for _, bad := range []string{
		strings.Replace(url, ";uid=1", ";uid=2", 1),
		strings.Replace(url, ";section=1", ";section=2", 1),
		strings.Replace(url, "authuser", "anonymous", 1),
		strings.Replace(url, ":internal:", ":other:", 1),
		url[:len(url)-40] + flipped,
		url[:len(url)-2],
		strings.Replace(url, "alice%40", "carol%40", 1),
		strings.Replace(url, "/INBOX/", "/Trash/", 1),
	} {
		if got := bob.fetchURL(bad); got != "NIL" {
			t.Errorf("tampered %s: %q", bad, got)
		}
	}
	if got := bob.fetchURL(url); got != "{5}\nhello" {
		t.Errorf("the signed URL: %q", got)
	}
}

// TestURLAuthResetKey: RESETKEY of the mailbox, or of all, invalidates
// the URLs signed before it (RFC 4467 §7.2).
func TestURLAuthResetKey(t *testing.T) {
	t.Parallel()
	_, alice, bob := urlauthEnv(t)
	old := alice.genURL(aliceURL(1, "1") + ";urlauth=authuser")
	alice.cmd("r", "RESETKEY INBOX INTERNAL", "OK [URLMECH INTERNAL]")
	if got := bob.fetchURL(old); got != "NIL" {
		t.Errorf("URL signed before RESETKEY INBOX: %q", got)
	}
	renewed := alice.genURL(aliceURL(1, "1") + ";urlauth=authuser")
	if renewed == old {
		t.Fatal("RESETKEY did not change the token")
	}
	if got := bob.fetchURL(renewed); got != "{5}\nhello" {
		t.Errorf("URL signed after RESETKEY: %q", got)
	}
	alice.cmd("s", "RESETKEY", "OK")
	if got := bob.fetchURL(renewed); got != "NIL" {
		t.Errorf("URL signed before RESETKEY: %q", got)
	}
	alice.cmd("t", "RESETKEY Nonexistent", "NO [NONEXISTENT]")
	alice.cmd("u", "RESETKEY INBOX XSAMPLE", "NO ")
}

// TestURLAuthResetKeyTellsSessions: after RESETKEY, the user's other
// sessions with an affected mailbox selected get an untagged OK
// [URLMECH INTERNAL] (RFC 4467 §7.2): at once in IDLE or with NOTIFY,
// else with their next command; other mailboxes' and other users'
// sessions get nothing, nor the session that reset the key.
func TestURLAuthResetKeyTellsSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.start(nil)
	alice, inbox, idle, notify, work := e.dial(addr), e.dial(addr), e.dial(addr), e.dial(addr), e.dial(addr)
	for _, c := range []*conn{alice, inbox, idle, notify, work} {
		c.login()
	}
	bob := e.dial(addr)
	bob.cmd("L", `LOGIN bob@example.test "`+password+`"`, "OK")
	alice.cmd("c", "CREATE Work", "OK")
	for _, c := range []*conn{alice, inbox, idle, notify, bob} {
		c.cmd("s", "SELECT INBOX", "OK")
	}
	work.cmd("s", "SELECT Work", "OK")
	notify.cmd("n", "NOTIFY SET (SELECTED (MessageNew MessageExpunge))", "OK")
	idle.Send("i IDLE")
	if l := idle.Line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	const urlmech = "* OK [URLMECH INTERNAL] "
	pushed := func(c *conn, what string) {
		t.Helper()
		if l := c.Line(); !strings.HasPrefix(l, urlmech) {
			t.Errorf("%s: pushed %q, want %q", what, l, urlmech)
		}
	}
	told := func(c *conn, what string) {
		t.Helper()
		if lines, _ := c.cmd("t", "NOOP", "OK"); len(lines) != 1 || !strings.HasPrefix(lines[0], urlmech) {
			t.Errorf("%s: NOOP gave %q, want %q", what, lines, urlmech)
		}
	}

	alice.cmd("r", "RESETKEY INBOX", "OK [URLMECH INTERNAL]")
	pushed(idle, "INBOX in IDLE after RESETKEY INBOX")
	pushed(notify, "INBOX with NOTIFY after RESETKEY INBOX")
	told(inbox, "INBOX after RESETKEY INBOX")
	work.quiet("Work after RESETKEY INBOX")
	alice.quiet("the session that ran RESETKEY INBOX")
	bob.quiet("bob after alice's RESETKEY INBOX")
	inbox.quiet("INBOX, told once")

	alice.cmd("r", "RESETKEY", "OK")
	pushed(idle, "INBOX in IDLE after RESETKEY")
	pushed(notify, "INBOX with NOTIFY after RESETKEY")
	told(inbox, "INBOX after RESETKEY")
	told(work, "Work after RESETKEY")
	alice.quiet("the session that ran RESETKEY")
	bob.quiet("bob after alice's RESETKEY")
	idle.Send("DONE")
	if lines, _ := idle.until("i", "OK"); len(lines) > 0 {
		t.Errorf("IDLE ended with %q", lines)
	}
}

// TestURLAuthExpire: a URL is NIL once its EXPIRE is past; GENURLAUTH
// refuses to sign one already expired.
func TestURLAuthExpire(t *testing.T) {
	t.Parallel()
	e, alice, bob := urlauthEnv(t)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	url := alice.genURL(aliceURL(1, "1") + ";expire=" + future + ";urlauth=authuser")
	if got := bob.fetchURL(url); got != "{5}\nhello" {
		t.Errorf("URL before it expires: %q", got)
	}
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	rump := aliceURL(1, "1") + ";expire=" + past + ";urlauth=authuser"
	alice.cmd("x", `GENURLAUTH "`+rump+`" INTERNAL`, "NO [BADURL ")
	// Signed as the server would have before it expired.
	mb, err := e.store.GetMailbox(context.Background(), e.alice.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.store.MailboxAccessKey(context.Background(), mb.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha1.New, key)
	h.Write([]byte(rump))
	expired := rump + ":internal:" + hex.EncodeToString(h.Sum(nil))
	if got := bob.fetchURL(expired); got != "NIL" {
		t.Errorf("expired URL: %q", got)
	}
	// The same forgery with the future date shows the token was right.
	rump = strings.Replace(rump, past, future, 1)
	h = hmac.New(sha1.New, key)
	h.Write([]byte(rump))
	if got := bob.fetchURL(rump + ":internal:" + hex.EncodeToString(h.Sum(nil))); got != "{5}\nhello" {
		t.Errorf("URL signed with the mailbox key: %q", got)
	}
}

// TestURLFetchBinary: RFC 5524's BINARY, BODY and BODYPARTSTRUCTURE of a
// base64 part, and a partial URL (URL-PARTIAL).
func TestURLFetchBinary(t *testing.T) {
	t.Parallel()
	_, alice, bob := urlauthEnv(t)
	url := alice.genURL(aliceURL(1, "2") + ";urlauth=authuser")
	p, err := message.Parse(strings.NewReader(attachment))
	if err != nil {
		t.Fatal(err)
	}
	structure := string(fetch.AppendBodyStructure(nil, p.Body.Section(2), true, false))
	if !strings.HasPrefix(structure, `("APPLICATION" "OCTET-STREAM" ("NAME" "x.bin") NIL NIL "BASE64" 8`) {
		t.Fatalf("structure of part 2: %s", structure)
	}
	// With BINARY, BODYPARTSTRUCTURE gives the decoded size (as Dovecot),
	// and the items are one list.
	decoded := strings.Replace(structure, `"BASE64" 8`, `"BASE64" 6`, 1)
	for _, tc := range []struct{ params, want string }{
		{"BINARY BODYPARTSTRUCTURE", "(BODYPARTSTRUCTURE " + decoded + " BINARY ~{6}\n\x00\x01\x02abc)"},
		{"BODYPARTSTRUCTURE", "(BODYPARTSTRUCTURE " + structure + ")"},
		{"BODY", "(BODY {8}\nAAECYWJj)"},
		{"", "(BODY {8}\nAAECYWJj)"},
		{"binary", "(BINARY ~{6}\n\x00\x01\x02abc)"},
	} {
		arg := `("` + url + `" ` + tc.params + `)`
		if tc.params == "" {
			arg = `("` + url + `")`
		}
		if got := bob.urlFetch(url, arg); got != tc.want {
			t.Errorf("URLFETCH %s:\n got %q\nwant %q", arg, got, tc.want)
		}
	}
	bob.cmd("a", `URLFETCH ("`+url+`" BODY BINARY)`, "BAD")
	bob.cmd("b", `URLFETCH ("`+url+`" ANNOTATION)`, "BAD")

	// Two URLs in one command; a partial of the decoded part.
	partial := alice.genURL(aliceURL(2, "2") + "/;partial=1.4;urlauth=anonymous")
	lines, _ := bob.cmd("c", `URLFETCH ("`+partial+`" BINARY) "`+url+`"`, "OK")
	want := `* URLFETCH "` + partial + "\" (BINARY ~{4}\n\x01\x02ab)\n" + `* URLFETCH "` + url + "\" {8}\nAAECYWJj"
	if got := strings.Join(lines, "\n"); got != want {
		t.Errorf("two URLs:\n got %q\nwant %q", got, want)
	}
	whole := alice.genURL(aliceURL(2, "") + "/;partial=6;urlauth=authuser")
	if got := bob.fetchURL(whole); !strings.HasPrefix(got, "{"+strconv.Itoa(len(attachment)-6)+"}\nalice@example.test") {
		t.Errorf("partial from an offset to the end: %q", got)
	}
}

// TestURLAuthCatenate: CATENATE takes a URLAUTH URL of another account
// that the session may fetch (RFC 4469 §5 with RFC 4467).
func TestURLAuthCatenate(t *testing.T) {
	t.Parallel()
	_, alice, bob := urlauthEnv(t)
	url := alice.genURL(aliceURL(1, "1") + ";urlauth=user+bob%40example.test")
	bob.Send(`a APPEND Drafts CATENATE (TEXT {12+}`)
	bob.Send(`Subject: x`)
	bob.Send(` URL "` + url + `")`)
	bob.until("a", "OK [APPENDUID ")
	bob.cmd("b", "SELECT Drafts", "OK")
	lines, _ := bob.cmd("c", "FETCH 1 BODY.PEEK[]", "OK")
	if got := strings.Join(lines, "\n"); !strings.Contains(got, "{17}\nSubject: x\nhello)") {
		t.Errorf("catenated message: %q", got)
	}
	bad := strings.Replace(url, "uid=1", "uid=2", 1)
	bob.cmd("d", `APPEND Drafts CATENATE (URL "`+bad+`")`, "NO [BADURL ")
	alice.cmd("e", `APPEND Drafts CATENATE (URL "`+url+`")`, "NO [BADURL ")
}

// TestURLAuthRestart: mailbox keys are durable, so a URL signed before a
// restart still verifies after it; SELECT names the mechanism.
func TestURLAuthRestart(t *testing.T) {
	t.Parallel()
	e, alice, _ := urlauthEnv(t)
	if lines, _ := alice.cmd("s", "SELECT INBOX", "OK"); !has(lines, "* OK [URLMECH INTERNAL]") {
		t.Errorf("SELECT without URLMECH: %q", lines)
	}
	url := alice.genURL(aliceURL(1, "1") + ";urlauth=authuser")
	e.reopen()
	bob := e.dial(e.start(nil))
	bob.cmd("L", `LOGIN bob@example.test "`+password+`"`, "OK")
	if got := bob.fetchURL(url); got != "{5}\nhello" {
		t.Errorf("URL signed before the restart: %q", got)
	}
}

// TestURLAuthLoginAsAuthority: a client logged in as user@domain may
// write its login unescaped in the URL, "imap://user@domain/…", which
// RFC 5092 reads as user "user" at host "domain" (imaptest's urlauth
// groups do): it names the login user@domain, and no other user.
func TestURLAuthLoginAsAuthority(t *testing.T) {
	t.Parallel()
	_, alice, bob := urlauthEnv(t)
	rump := "imap://alice@example.test/INBOX/;uid=1/;section=1;urlauth=user+bob%40example.test"
	url := alice.genURL(rump)
	if got := bob.fetchURL(url); got != "{5}\nhello" {
		t.Errorf("URLFETCH by bob: %q", got)
	}
	bob.cmd("a", `GENURLAUTH "imap://alice@example.test/INBOX/;uid=1;urlauth=authuser" INTERNAL`, "NO [BADURL ")
	alice.cmd("b", `GENURLAUTH "imap://alice@other.test/INBOX/;uid=1;urlauth=authuser" INTERNAL`, "NO [BADURL ")
}
