package imapd

import (
	"regexp"
	"strconv"
	"testing"
)

// TestThreadID: a reply, delivered or appended, gets its parent's
// THREADID, a copy keeps it, and SEARCH THREADID finds the thread
// (RFC 8474 §5.2, §6).
func TestThreadID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX",
		threadMessage("a", "", "Lunch", "Mon, 2 Nov 2026 10:00:00 +0000", "noon?"),
		testMessage(2),
		threadMessage("b", "a", "Re: Lunch", "Mon, 2 Nov 2026 12:00:00 +0000", "yes"),
	)
	c := e.dial(e.start(nil))
	c.login()
	c.cmd("s", "SELECT INBOX", "OK")
	reply := threadMessage("c", "b", "Re: Lunch", "Mon, 2 Nov 2026 13:00:00 +0000", "see you")
	c.Send("ap APPEND INBOX {" + strconv.Itoa(len(reply)) + "+}\r\n" + reply)
	c.until("ap", "OK")
	c.cmd("m", "CREATE Kept", "OK")
	c.cmd("cp", "COPY 3 Kept", "OK")

	thread := regexp.MustCompile(`THREADID \(([A-Za-z0-9_-]+)\)`)
	lines, _ := c.cmd("f", "FETCH 1:4 (THREADID)", "OK")
	var ids []string
	for _, l := range lines {
		if m := thread.FindStringSubmatch(l); m != nil {
			ids = append(ids, m[1])
		}
	}
	if len(ids) != 4 || ids[0] != ids[2] || ids[0] != ids[3] || ids[1] == ids[0] {
		t.Fatalf("FETCH THREADID: %q", lines)
	}
	lines, _ = c.cmd("q", "SEARCH THREADID "+ids[0], "OK")
	if len(lines) != 1 || lines[0] != "* SEARCH 1 3 4" {
		t.Errorf("SEARCH THREADID: %q", lines)
	}
	lines, _ = c.cmd("q2", "SORT (REVERSE DATE) UTF-8 THREADID "+ids[0], "OK")
	if len(lines) != 1 || lines[0] != "* SORT 4 3 1" {
		t.Errorf("SORT THREADID: %q", lines)
	}
	c.cmd("k", "SELECT Kept", "OK")
	lines, _ = c.cmd("f2", "FETCH 1 (THREADID)", "OK")
	if len(lines) != 1 || !has(lines, "THREADID ("+ids[0]+")") {
		t.Errorf("copy's THREADID: %q, want %s", lines, ids[0])
	}
}
