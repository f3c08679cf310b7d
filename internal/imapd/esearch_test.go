package imapd

import (
	"strings"
	"testing"
)

// sizedMessage is testMessage(n) with pad extra bytes of body.
func sizedMessage(n, pad int) string {
	return testMessage(n) + strings.Repeat("x", pad) + "\r\n"
}

// expectOne runs command and checks that its only untagged line is want.
func (c *conn) expectOne(tag, command, want string) {
	c.t.Helper()
	lines, _ := c.cmd(tag, command, "OK")
	if len(lines) != 1 || lines[0] != want {
		c.t.Errorf("%s:\n got %q\nwant %q", command, lines, want)
	}
}

// TestESortSequenceSets: ESORT's ALL and PARTIAL keep the sort order and
// write ascending runs as ranges (RFC 5267 §3.2, RFC 9394 §3, as
// Dovecot's imaptest groups esort and sort-partial expect).
func TestESortSequenceSets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// By size: 4, 1, 2, 3, 5.
	e.deliver(e.alice, "INBOX", sizedMessage(1, 10), sizedMessage(2, 20), sizedMessage(3, 30), sizedMessage(4, 0), sizedMessage(5, 40))
	c := e.dial(e.start(nil))
	c.login()
	c.cmd("s", "SELECT INBOX", "OK")
	c.expectOne("a1", "SORT RETURN (ALL) (ARRIVAL) US-ASCII 1:5", `* ESEARCH (TAG "a1") ALL 1:5`)
	c.expectOne("a2", "SORT RETURN (ALL) (SIZE) US-ASCII ALL", `* ESEARCH (TAG "a2") ALL 4,1:3,5`)
	c.expectOne("a3", "UID SORT RETURN (ALL COUNT) (REVERSE SIZE) US-ASCII ALL", `* ESEARCH (TAG "a3") UID ALL 5,3,2,1,4 COUNT 5`)
	c.expectOne("p1", "SORT RETURN (PARTIAL 2:3) (SIZE) US-ASCII ALL", `* ESEARCH (TAG "p1") PARTIAL (2:3 1:2)`)
	c.expectOne("p2", "SORT RETURN (PARTIAL 3:1) (SIZE) US-ASCII ALL", `* ESEARCH (TAG "p2") PARTIAL (1:3 4,1:2)`)
	c.expectOne("p3", "SORT RETURN (PARTIAL 1:9) (SIZE) US-ASCII ALL", `* ESEARCH (TAG "p3") PARTIAL (1:9 4,1:3,5)`)
	c.expectOne("p4", "SEARCH RETURN (PARTIAL 1:9) NOT 3", `* ESEARCH (TAG "p4") PARTIAL (1:9 1:2,4:5)`)
}
