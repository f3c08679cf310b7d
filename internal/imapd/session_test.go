package imapd

import (
	"regexp"
	"strings"
	"testing"
)

func TestRawSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2), testMessage(3))
	c := e.dial(e.start(nil))
	lines, _ := c.cmd("a1", "CAPABILITY", "OK")
	if !has(lines, "AUTH=PLAIN") || !has(lines, "STARTTLS") || has(lines, "LOGINDISABLED") {
		t.Fatalf("capabilities %q", lines)
	}
	c.login()
	lines, _ = c.cmd("a2", `LIST "" "*"`, "OK")
	if !has(lines, `* LIST (\HasNoChildren) "/" INBOX`) || !has(lines, `\Trash) "/" Trash`) {
		t.Fatalf("LIST %q", lines)
	}
	lines, tagged := c.cmd("a3", "SELECT inbox", "OK")
	if !has(lines, "* 3 EXISTS") || !has(lines, "[UIDNEXT 4]") || !strings.Contains(tagged, "[READ-WRITE]") {
		t.Fatalf("SELECT %q %q", lines, tagged)
	}
	lines, _ = c.cmd("a4", "FETCH 1:* (UID FLAGS RFC822.SIZE)", "OK")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], `* 3 FETCH (UID 3 FLAGS (\Recent) RFC822.SIZE `) {
		t.Fatalf("FETCH %q", lines)
	}
	lines, _ = c.cmd("a5", "FETCH 2 (BODY[HEADER.FIELDS (Subject)] ENVELOPE)", "OK")
	if !has(lines, "* 2 FETCH (BODY[HEADER.FIELDS (Subject)] {22}") {
		t.Fatalf("FETCH header %q", lines)
	}
	if !has(lines, "FLAGS (\\Recent \\Seen)") {
		t.Fatalf("BODY[] did not set \\Seen: %q", lines)
	}
	lines, _ = c.cmd("o", "FETCH 1 (SAVEDATE EMAILID THREADID PREVIEW (LAZY))", "OK")
	if len(lines) != 1 || !regexp.MustCompile(`^\* 1 FETCH \(SAVEDATE "[ 0-9]\d-\w{3}-\d{4} [0-9:]{8} [-+]\d{4}" EMAILID \(M[0-9a-f]{24}\) THREADID \(T[0-9a-f]+\) PREVIEW "body 1"\)$`).MatchString(lines[0]) {
		t.Fatalf("FETCH SAVEDATE EMAILID THREADID PREVIEW: %q", lines)
	}
	lines, _ = c.cmd("a6", `STORE 1 +FLAGS (\Deleted)`, "OK")
	if !has(lines, `* 1 FETCH (UID 1 FLAGS (\Recent \Deleted))`) {
		t.Fatalf("STORE %q", lines)
	}
	lines, _ = c.cmd("a7", "SEARCH DELETED", "OK")
	if !has(lines, "* SEARCH 1") {
		t.Fatalf("SEARCH %q", lines)
	}
	lines, _ = c.cmd("a8", "EXPUNGE", "OK")
	if !has(lines, "* 1 EXPUNGE") {
		t.Fatalf("EXPUNGE %q", lines)
	}
	lines, tagged = c.cmd("a9", "UID MOVE 2 Trash", "OK")
	if !has(lines, "[COPYUID ") || !has(lines, "* 1 EXPUNGE") {
		t.Fatalf("MOVE %q %q", lines, tagged)
	}
	c.Send("b1 APPEND INBOX (\\Flagged) {" + itoa(uint32(len(testMessage(9)))) + "}")
	if l := c.Line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("APPEND continuation %q", l)
	}
	c.Send(testMessage(9))
	lines, tagged = c.until("b1", "OK")
	if !strings.Contains(tagged, "[APPENDUID ") || !has(lines, "* 2 EXISTS") {
		t.Fatalf("APPEND %q %q", lines, tagged)
	}
	c.cmd("b2", "FETCH 99 FLAGS", "BAD") // RFC 9051 §9: a number the client cannot know
	c.cmd("b3", "UNSELECT", "OK")
	c.cmd("b4", "ENABLE UTF8=ACCEPT", "OK")
	c.Send("b5 APPEND Archive UTF8 (~{7+}")
	c.Send("Subj: x)")
	_, tagged = c.until("b5", "OK")
	if !strings.Contains(tagged, "[APPENDUID ") {
		t.Fatalf("APPEND UTF8: %q", tagged)
	}
	c.cmd("b6", "LOGOUT", "OK")
}
