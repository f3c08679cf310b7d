package pop3d

import (
	"fmt"
	"strings"
	"testing"
)

// TestRetrWithHeaders: a message stored with header lines added before
// its bytes (store.Message.Headers) is those lines then the bytes over
// POP3: LIST's size, RETR, TOP, and pipelined RETRs (opened together);
// a copy of the same bytes without them is unchanged.
func TestRetrWithHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	added := "Authentication-Results: mx.example.test; spf=pass\r\nX-Spam: no\r\n"
	raw := "Subject: added\r\nFrom: <bob@example.test>\r\n\r\nline 1\r\n.line 2\r\n"
	e.deliverWith("alice@example.test", added, raw)
	e.deliver("alice@example.test", raw)
	e.deliverWith("alice@example.test", "X-Other: 1\r\n", raw)
	full := added + raw
	c := e.login(e.serve(), "alice@example.test")
	if got := c.multi("LIST"); strings.Join(got, ",") != fmt.Sprintf("1 %d,2 %d,3 %d", len(full), len(raw), len(raw)+12) {
		t.Errorf("LIST %q", got)
	}
	c.expect("LIST 1", fmt.Sprintf("+OK 1 %d", len(full)))
	c.expect("RETR 1", fmt.Sprintf("+OK %d octets", len(full)))
	stuffed := strings.Replace(full, "\r\n.line", "\r\n..line", 1) + ".\r\n"
	if got := c.rawBody(); got != stuffed {
		t.Errorf("RETR sent\n%q\nwant\n%q", got, stuffed)
	}
	c.ok("TOP 1 0")
	if got, want := c.rawBody(), added+"Subject: added\r\nFrom: <bob@example.test>\r\n\r\n.\r\n"; got != want {
		t.Errorf("TOP 1 0 sent\n%q\nwant\n%q", got, want)
	}
	c.Raw().Write([]byte("RETR 3\r\nRETR 2\r\nRETR 1\r\n"))
	for _, want := range []string{"X-Other: 1\r\n" + raw, raw, full} {
		c.ok("")
		if got, want := c.rawBody(), strings.Replace(want, "\r\n.line", "\r\n..line", 1)+".\r\n"; got != want {
			t.Errorf("pipelined RETR sent\n%q\nwant\n%q", got, want)
		}
	}
	c.ok("QUIT")
}
