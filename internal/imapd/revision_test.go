package imapd

import (
	"bufio"
	"compress/flate"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"facteur.dev/facteur/internal/imapd/imapwire"
)

// TestRevisions: an IMAP4rev1 session reads modified UTF-7 names and
// RECENT; after ENABLE IMAP4rev2 the same account reads UTF-8 names, a
// LIST response in SELECT and ESEARCH.
func TestRevisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1))
	addr := e.start(nil)
	c := e.dial(addr)
	c.login()
	wire := imapwire.EncodeMUTF7("Été")
	c.cmd("a", "CREATE "+wire, "OK")
	lines, _ := c.cmd("b", `LIST "" "*t*"`, "OK")
	if !has(lines, `"/" `+wire) {
		t.Fatalf("rev1 LIST: %q", lines)
	}
	lines, _ = c.cmd("c", "SELECT INBOX", "OK")
	if !has(lines, "* 1 RECENT") || has(lines, "* LIST") {
		t.Fatalf("rev1 SELECT: %q", lines)
	}
	lines, _ = c.cmd("d", "ID NIL", "OK")
	if !has(lines, `* ID ("name" "Facteur"`) {
		t.Fatalf("ID: %q", lines)
	}
	lines, _ = c.cmd("e", "NAMESPACE", "OK")
	if !has(lines, `* NAMESPACE (("" "/")) NIL NIL`) {
		t.Fatalf("NAMESPACE: %q", lines)
	}

	c = e.dial(addr)
	c.login()
	lines, _ = c.cmd("a", "ENABLE IMAP4rev2", "OK")
	if !has(lines, "* ENABLED IMAP4REV2") {
		t.Fatalf("ENABLE: %q", lines)
	}
	lines, _ = c.cmd("b", `LIST "" "*t*"`, "OK")
	if !has(lines, `"/" "Été"`) {
		t.Fatalf("rev2 LIST: %q", lines)
	}
	lines, _ = c.cmd("c", "SELECT INBOX", "OK")
	if has(lines, "RECENT") || !has(lines, `* LIST () "/" INBOX`) {
		t.Fatalf("rev2 SELECT: %q", lines)
	}
	lines, _ = c.cmd("d", "SEARCH ALL", "OK")
	if !has(lines, `* ESEARCH (TAG "d") ALL 1`) {
		t.Fatalf("rev2 SEARCH: %q", lines)
	}
}

// TestMultiappendLiteralPlus: two messages in one APPEND, sent with
// non-synchronizing literals (RFC 3502, RFC 7888).
func TestMultiappendLiteralPlus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(e.start(nil))
	c.login()
	c.Send("a APPEND Drafts (\\Draft) {12+}\r\nSubject: 1\r\n (\\Seen) \" 2-Nov-2026 10:00:00 +0100\" {12+}\r\nSubject: 2\r\n")
	_, tagged := c.until("a", "OK")
	if !strings.Contains(tagged, " 1:2] ") {
		t.Fatalf("MULTIAPPEND: %q", tagged)
	}
	// All or nothing (RFC 3502): over quota at the second message, the
	// first is not kept either.
	if err := e.store.SetQuota(context.Background(), e.alice.Address, 40); err != nil {
		t.Fatal(err)
	}
	c.Send("f APPEND Trash {12+}\r\nSubject: 3\r\n {12+}\r\nSubject: 4\r\n")
	c.until("f", "NO [OVERQUOTA]")
	lines, _ := c.cmd("g", "STATUS Trash (MESSAGES)", "OK")
	if !has(lines, "(MESSAGES 0)") {
		t.Fatalf("after a failed MULTIAPPEND: %q", lines)
	}
	c.cmd("b", "SELECT Drafts", "OK")
	lines, _ = c.cmd("c", "FETCH 1:2 (FLAGS INTERNALDATE)", "OK")
	if !has(lines, `* 1 FETCH (FLAGS (\Recent \Draft) INTERNALDATE`) || !has(lines, `* 2 FETCH (FLAGS (\Recent \Seen) INTERNALDATE " 2-Nov-2026 10:00:00 +0100")`) {
		t.Fatalf("appended: %q", lines)
	}
}

// TestAuthenticateSCRAM: SCRAM-SHA-256 with an initial response (SASL-IR);
// the server-final message comes as a last challenge.
func TestAuthenticateSCRAM(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.start(nil)
	b64 := base64.StdEncoding.EncodeToString
	for _, pass := range []string{"wrong", password} {
		client, err := scram.SHA256.NewClient("alice@example.test", pass, "")
		if err != nil {
			t.Fatal(err)
		}
		conv := client.NewConversation()
		first, _ := conv.Step("")
		c := e.dial(addr)
		c.Send("a AUTHENTICATE SCRAM-SHA-256 " + b64([]byte(first)))
		chal := c.Line()
		serverFirst, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(chal, "+ "))
		final, err := conv.Step(string(serverFirst))
		if err != nil {
			t.Fatalf("%q: %v", chal, err)
		}
		c.Send(b64([]byte(final)))
		r := c.Line()
		if pass == password {
			serverFinal, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r, "+ "))
			if _, err := conv.Step(string(serverFinal)); err != nil {
				t.Fatalf("server signature: %v (%q)", err, r)
			}
			c.Send("")
			r = c.Line()
			if !strings.HasPrefix(r, "a OK [CAPABILITY ") {
				t.Fatalf("SCRAM: %q", r)
			}
		} else if !strings.HasPrefix(r, "a NO [AUTHENTICATIONFAILED]") {
			t.Fatalf("SCRAM with a wrong password: %q", r)
		}
	}
}

// TestCompressDeflate: after COMPRESS DEFLATE both directions are raw
// DEFLATE (RFC 4978); a second COMPRESS is refused.
func TestCompressDeflate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(e.start(nil))
	lines, _ := c.cmd("a", "CAPABILITY", "OK")
	if has(lines, "COMPRESS=DEFLATE") {
		t.Fatalf("COMPRESS offered before login: %q", lines)
	}
	c.login()
	c.cmd("b", "COMPRESS DEFLATE", "OK")
	fw, _ := flate.NewWriter(c.Raw(), flate.BestSpeed)
	r := bufio.NewReader(flate.NewReader(c.Raw()))
	send := func(line string) {
		fw.Write([]byte(line + "\r\n"))
		fw.Flush()
	}
	send("c NOOP")
	if l, err := r.ReadString('\n'); err != nil || l != "c OK NOOP completed\r\n" {
		t.Fatalf("NOOP under DEFLATE: %q %v", l, err)
	}
	send("d COMPRESS DEFLATE")
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "d NO [COMPRESSIONACTIVE]") {
		t.Fatalf("second COMPRESS: %q", l)
	}
}

// TestCatenate: APPEND with CATENATE builds a message from a section of
// a stored message (URL) and a TEXT literal (RFC 4469).
func TestCatenate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1))
	c := e.dial(e.start(nil))
	c.login()
	lines, _ := c.cmd("s", "SELECT INBOX", "OK")
	uv := uidValidity(t, lines)
	c.Send(`a APPEND Drafts CATENATE (URL "/INBOX;UIDVALIDITY=` + uv + `/;UID=1/;SECTION=HEADER.FIELDS%20(Subject)" TEXT {11+}`)
	c.Send("forwarded\r\n)")
	_, tagged := c.until("a", "OK")
	if !strings.Contains(tagged, "[APPENDUID ") {
		t.Fatalf("APPEND CATENATE: %q", tagged)
	}
	c.cmd("b", "SELECT Drafts", "OK")
	lines, _ = c.cmd("c", "FETCH 1 BODY.PEEK[]", "OK")
	got := strings.Join(lines, "\n")
	if !strings.Contains(got, "{33}\nSubject: message 1\n\nforwarded\n") {
		t.Fatalf("catenated message: %q", lines)
	}
	c.cmd("d", `APPEND Drafts CATENATE (URL "/INBOX/;UID=99")`, "NO [BADURL /INBOX/;UID=99]")
	c.cmd("e", `APPEND Drafts CATENATE (URL "/INBOX/;UID=1;URLAUTH=anonymous")`, "NO [BADURL")
}
