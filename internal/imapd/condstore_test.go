package imapd

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// highest returns the HIGHESTMODSEQ a SELECT reported.
func highest(t *testing.T, lines []string) string {
	t.Helper()
	for _, l := range lines {
		if m := regexp.MustCompile(`HIGHESTMODSEQ (\d+)`).FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no HIGHESTMODSEQ in %q", lines)
	return ""
}

func uidValidity(t *testing.T, lines []string) string {
	t.Helper()
	for _, l := range lines {
		if m := regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no UIDVALIDITY in %q", lines)
	return ""
}

// TestQResyncVanishedEarlier: a client that remembers a MODSEQ learns,
// at SELECT, which of its UIDs were expunged and which changed.
func TestQResyncVanishedEarlier(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2), testMessage(3), testMessage(4))
	addr := e.start(nil)
	c := e.dial(addr)
	c.login()
	c.cmd("e", "ENABLE QRESYNC", "OK")
	lines, _ := c.cmd("s", "SELECT INBOX", "OK")
	ms, uv := highest(t, lines), uidValidity(t, lines)
	c.cmd("l", "LOGOUT", "OK")

	// Meanwhile, another client expunges 2 and flags 4.
	o := e.dial(addr)
	o.login()
	o.cmd("s", "SELECT INBOX", "OK")
	o.cmd("f", `UID STORE 2 +FLAGS (\Deleted)`, "OK")
	o.cmd("x", "EXPUNGE", "OK")
	o.cmd("g", `UID STORE 4 +FLAGS (\Flagged)`, "OK")

	c = e.dial(addr)
	c.login()
	c.cmd("e", "ENABLE QRESYNC", "OK")
	lines, _ = c.cmd("s", fmt.Sprintf("SELECT INBOX (QRESYNC (%s %s 1:4))", uv, ms), "OK")
	if !has(lines, "* VANISHED (EARLIER) 2") || !has(lines, `FETCH (UID 4 FLAGS (\Flagged) MODSEQ (`) || has(lines, "UID 1 FLAGS") {
		t.Fatalf("QRESYNC SELECT:\n%s", strings.Join(lines, "\n"))
	}
	// While selected, expunges by others arrive as VANISHED.
	o.cmd("d", `UID STORE 1 +FLAGS (\Deleted)`, "OK")
	o.cmd("y", "EXPUNGE", "OK")
	lines, _ = c.cmd("n", "NOOP", "OK")
	if !has(lines, "* VANISHED 1") {
		t.Fatalf("NOOP after expunge: %q", lines)
	}
	// UID FETCH ... (CHANGEDSINCE m VANISHED).
	lines, _ = c.cmd("f", fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %s VANISHED)", ms), "OK")
	if !has(lines, "* VANISHED (EARLIER) 1:2") || !has(lines, "UID 4 FLAGS (\\Flagged) MODSEQ") || has(lines, "UID 3 ") {
		t.Fatalf("UID FETCH VANISHED:\n%s", strings.Join(lines, "\n"))
	}
}

// TestCondstoreUnchangedSince: STORE with UNCHANGEDSINCE changes only
// what nobody changed since, and answers MODIFIED for the rest.
func TestCondstoreUnchangedSince(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	addr := e.start(nil)
	c := e.dial(addr)
	c.login()
	lines, _ := c.cmd("s", "SELECT INBOX (CONDSTORE)", "OK")
	ms := highest(t, lines)
	o := e.dial(addr)
	o.login()
	o.cmd("s", "SELECT INBOX", "OK")
	o.cmd("f", `STORE 2 +FLAGS (\Seen)`, "OK")

	lines, tagged := c.cmd("u", fmt.Sprintf(`STORE 1:2 (UNCHANGEDSINCE %s) +FLAGS (\Flagged)`, ms), "OK")
	if !strings.Contains(tagged, "[MODIFIED 2]") || !has(lines, `* 1 FETCH (UID 1 FLAGS (\Recent \Flagged) MODSEQ (`) {
		t.Fatalf("STORE UNCHANGEDSINCE: %q %q", lines, tagged)
	}
	lines, _ = c.cmd("f", fmt.Sprintf("FETCH 1:* (UID) (CHANGEDSINCE %s)", ms), "OK")
	if len(lines) != 2 || !has(lines, "MODSEQ") {
		t.Fatalf("FETCH CHANGEDSINCE: %q", lines)
	}
	mb, _ := e.store.GetMailbox(context.Background(), e.alice.ID, "INBOX")
	lines, _ = c.cmd("t", "STATUS INBOX (HIGHESTMODSEQ)", "OK")
	if !has(lines, fmt.Sprintf("HIGHESTMODSEQ %d", mb.HighestModSeq)) {
		t.Fatalf("STATUS %q, store says %d", lines, mb.HighestModSeq)
	}
}

// TestCondstoreEnablingCommand: the first CONDSTORE enabling command
// issued with a mailbox selected sends that mailbox's HIGHESTMODSEQ
// before its own responses, once (RFC 7162 §3.1); one issued with nothing
// selected, or after ENABLE CONDSTORE, sends none.
func TestCondstoreEnablingCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	e.deliver(e.alice, "Archive", testMessage(3))
	addr := e.start(nil)
	o := e.dial(addr) // moves INBOX's HIGHESTMODSEQ past Archive's
	o.login()
	o.cmd("s", "SELECT INBOX", "OK")
	o.cmd("f", `STORE 1 +FLAGS (\Flagged)`, "OK")
	mb, _ := e.store.GetMailbox(context.Background(), e.alice.ID, "INBOX")
	want := fmt.Sprintf("* OK [HIGHESTMODSEQ %d] ", mb.HighestModSeq)
	for _, command := range []string{
		"FETCH 1 (MODSEQ)",
		"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
		"SEARCH MODSEQ 1",
		"SEARCH RETURN (MIN) MODSEQ 1",
		`STORE 2 (UNCHANGEDSINCE 1) +FLAGS (\Seen)`,
		"STATUS Archive (HIGHESTMODSEQ)",
		"STATUS INBOX (MESSAGES HIGHESTMODSEQ)",
		`LIST "" "Archive" RETURN (STATUS (HIGHESTMODSEQ))`,
		"NOTIFY SET (SELECTED (MessageNew (UID MODSEQ) MessageExpunge))",
	} {
		c := e.dial(addr)
		c.login()
		c.cmd("s", "SELECT INBOX", "OK")
		lines, _ := c.cmd("a", command, "OK")
		if len(lines) == 0 || !strings.HasPrefix(lines[0], want) {
			t.Errorf("%s: want %q first, got %q", command, want, lines)
		}
		if lines, _ = c.cmd("b", command, "OK"); has(lines, "[HIGHESTMODSEQ") {
			t.Errorf("%s again: %q", command, lines)
		}
		c.cmd("l", "LOGOUT", "OK")
	}
	c := e.dial(addr) // nothing selected: nothing to announce
	c.login()
	if lines, _ := c.cmd("a", "STATUS INBOX (HIGHESTMODSEQ)", "OK"); has(lines, "[HIGHESTMODSEQ") {
		t.Errorf("STATUS unselected: %q", lines)
	}
	c.cmd("s", "SELECT INBOX", "OK")
	if lines, _ := c.cmd("b", "FETCH 1 (MODSEQ)", "OK"); has(lines, "[HIGHESTMODSEQ") || !has(lines, "MODSEQ (") {
		t.Errorf("FETCH MODSEQ after STATUS: %q", lines)
	}
	c = e.dial(addr)
	c.login()
	c.cmd("e", "ENABLE CONDSTORE", "OK")
	c.cmd("s", "SELECT INBOX", "OK")
	if lines, _ := c.cmd("b", "FETCH 1 (MODSEQ)", "OK"); has(lines, "[HIGHESTMODSEQ") {
		t.Errorf("FETCH MODSEQ after ENABLE: %q", lines)
	}
	// A SEARCH whose MODSEQ is refused (BAD) enables nothing.
	c = e.dial(addr)
	c.login()
	c.cmd("s", "SELECT INBOX", "OK")
	c.cmd("x", "SEARCH MODSEQ x", "BAD")
	if lines, _ := c.cmd("b", "FETCH 1 (MODSEQ)", "OK"); len(lines) == 0 || !strings.HasPrefix(lines[0], want) {
		t.Errorf("FETCH MODSEQ after a bad SEARCH: %q", lines)
	}
}

// TestLoginDisabledBeforeTLS: on the STARTTLS port, from a peer outside
// auth.plaintext_networks, no password travels in clear.
func TestLoginDisabledBeforeTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(e.start(func(o *Options) { o.PlaintextNetworks = nil }))
	lines, _ := c.cmd("a", "CAPABILITY", "OK")
	if !has(lines, "LOGINDISABLED") || has(lines, " AUTH=") || !has(lines, "STARTTLS") {
		t.Fatalf("CAPABILITY before TLS: %q", lines)
	}
	c.cmd("b", `LOGIN alice@example.test "`+password+`"`, "NO [PRIVACYREQUIRED]")
	c.cmd("c", "AUTHENTICATE PLAIN", "NO [PRIVACYREQUIRED]")
	// A command pipelined after STARTTLS is dropped, not run under TLS.
	c.Send("d STARTTLS\r\ne CAPABILITY")
	if l := c.Line(); !strings.HasPrefix(l, "d OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	c.StartTLS(e.clientTLS)
	lines, _ = c.cmd("f", "CAPABILITY", "OK")
	if has(lines, "LOGINDISABLED") || !has(lines, "AUTH=SCRAM-SHA-256") || has(lines, "STARTTLS") {
		t.Fatalf("CAPABILITY after TLS: %q", lines)
	}
	c.cmd("g", "LOGIN alice@example.test wrong", "NO [AUTHENTICATIONFAILED]")
	c.cmd("h", `LOGIN alice@example.test "`+password+`"`, "OK [CAPABILITY")
}

// TestLimits: literals over APPENDLIMIT are refused before they are
// sent, long lines get BAD, and sessions per account are bounded.
func TestLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := e.start(func(o *Options) {
		o.Limits.MaxLiteral = 100
		o.Limits.MaxLine = 200
		o.MaxSessionsPerAccount = 1
	})
	c := e.dial(addr)
	c.login()
	c.cmd("a", "APPEND INBOX {1000}", "NO [TOOBIG]")
	c.cmd("b", "NOOP "+strings.Repeat("x", 300), "BAD")
	c.cmd("c", "NOOP", "OK")
	d := e.dial(addr)
	d.cmd("L", `LOGIN alice@example.test "`+password+`"`, "NO [LIMIT]")
	c.cmd("z", "LOGOUT", "OK")
}
