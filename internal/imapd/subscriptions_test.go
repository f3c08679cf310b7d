package imapd

import "testing"

// TestSubscriptionsOfNames: SUBSCRIBE to a name that does not exist
// succeeds, a subscription survives DELETE, and LSUB and LIST
// (SUBSCRIBED) show such names as not selectable (RFC 9051 §6.3.7, RFC
// 5258 §3.4).
func TestSubscriptionsOfNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(e.start(nil))
	c.login()
	c.cmd("a", "SUBSCRIBE Later/Box", "OK")
	c.cmd("b", "CREATE Gone", "OK")
	c.cmd("b2", "SUBSCRIBE Gone", "OK") // CREATE does not subscribe
	c.cmd("c", "DELETE Gone", "OK")
	lines, _ := c.cmd("d", `LSUB "" "*"`, "OK")
	for _, want := range []string{`* LSUB (\Noselect) "/" Later/Box`, `* LSUB (\Noselect) "/" Gone`, `* LSUB (\HasNoChildren) "/" INBOX`} {
		if !has(lines, want) {
			t.Errorf("LSUB: %q missing from %q", want, lines)
		}
	}
	lines, _ = c.cmd("e", `LIST (SUBSCRIBED) "" "G*"`, "OK")
	if len(lines) != 1 || lines[0] != `* LIST (\NonExistent \Subscribed) "/" Gone` {
		t.Errorf("LIST (SUBSCRIBED): %q", lines)
	}
	if lines, _ = c.cmd("f", `LIST "" "*"`, "OK"); has(lines, "Gone") || has(lines, "Later") {
		t.Errorf("LIST shows subscriptions that are not mailboxes: %q", lines)
	}
	// "%" stops above Later/Box: Later is listed, not selectable (RFC 3501
	// §6.3.9).
	lines, _ = c.cmd("e2", `LSUB "" "L%"`, "OK")
	if len(lines) != 1 || lines[0] != `* LSUB (\Noselect) "/" Later` {
		t.Errorf("LSUB %%: %q", lines)
	}
	lines, _ = c.cmd("e3", `LIST (SUBSCRIBED RECURSIVEMATCH) "" "L%"`, "OK")
	if len(lines) != 1 || lines[0] != `* LIST (\NonExistent) "/" Later ("CHILDINFO" ("SUBSCRIBED"))` {
		t.Errorf("RECURSIVEMATCH above a subscription: %q", lines)
	}
	c.cmd("g", "UNSUBSCRIBE Gone", "OK")
	c.cmd("h", "UNSUBSCRIBE Gone", "NO")
	if lines, _ = c.cmd("i", `LSUB "" "G*"`, "OK"); len(lines) != 0 {
		t.Errorf("after UNSUBSCRIBE: %q", lines)
	}
}
