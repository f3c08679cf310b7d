package imapd

import (
	"strings"
	"testing"
)

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

// TestSubscribedHierarchy: CREATE subscribes nothing; LSUB "%" shows a
// mailbox above a subscription \Noselect (RFC 3501 §6.3.9); RECURSIVEMATCH
// gives CHILDINFO for subscriptions the patterns do not match, and only
// for those (RFC 5258 §3.5), with RETURN (CHILDREN SUBSCRIBED) (§4).
func TestSubscribedHierarchy(t *testing.T) {
	t.Parallel()
	c := loggedIn(t)
	for _, n := range []string{"T/a", "T/b/c", "T/d/d", "T/e/f", "T/e/g"} {
		c.cmd("c", "CREATE "+n, "OK")
	}
	for _, n := range []string{"T/a", "T/b/c", "T/d/d", "T/e/f", "T/e/g"} {
		c.cmd("s", "SUBSCRIBE "+n, "OK")
	}
	check := func(command string, want ...string) {
		t.Helper()
		lines, _ := c.cmd("l", command, "OK")
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: %q, want %q", command, lines, want)
		}
	}
	check(`LSUB "" "T/%"`, `* LSUB (\HasNoChildren) "/" T/a`, `* LSUB (\Noselect \HasChildren) "/" T/b`,
		`* LSUB (\Noselect \HasChildren) "/" T/d`, `* LSUB (\Noselect \HasChildren) "/" T/e`)
	check(`LIST "" "T/%" RETURN (CHILDREN SUBSCRIBED)`, `* LIST (\HasNoChildren \Subscribed) "/" T/a`,
		`* LIST (\HasChildren) "/" T/b`, `* LIST (\HasChildren) "/" T/d`, `* LIST (\HasChildren) "/" T/e`)
	check(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "T/b"`, `* LIST (\HasChildren) "/" T/b ("CHILDINFO" ("SUBSCRIBED"))`)
	check(`LIST (SUBSCRIBED RECURSIVEMATCH) "" ("T/b" "T/b/c")`, `* LIST (\HasNoChildren \Subscribed) "/" T/b/c`)
	check(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "T*d"`, `* LIST (\HasNoChildren \Subscribed) "/" T/d/d`)
	check(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "T*f"`, `* LIST (\HasNoChildren \Subscribed) "/" T/e/f`)
	check(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "T/e"`, `* LIST (\HasChildren) "/" T/e ("CHILDINFO" ("SUBSCRIBED"))`)
	c.cmd("d", "DELETE T/e", "OK") // a \Noselect level now
	c.cmd("s1", "SUBSCRIBE T/e", "OK")
	check(`LIST "" "T/e" RETURN (SUBSCRIBED)`, `* LIST (\Noselect \HasChildren \Subscribed) "/" T/e`)
	check(`LSUB "" "T/e"`, `* LSUB (\Noselect \HasChildren) "/" T/e`)
	c.cmd("u0", "UNSUBSCRIBE T/e", "OK")
	check(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "T/e"`, `* LIST (\Noselect \HasChildren) "/" T/e ("CHILDINFO" ("SUBSCRIBED"))`)
	c.cmd("u", "UNSUBSCRIBE T/e/f", "OK")
	c.cmd("u2", "UNSUBSCRIBE T/e/g", "OK")
	c.cmd("s2", "SUBSCRIBE Gone/x", "OK")
	check(`LIST (SUBSCRIBED RECURSIVEMATCH) "" ("Gone" "T")`, `* LIST (\NonExistent) "/" Gone ("CHILDINFO" ("SUBSCRIBED"))`,
		`* LIST (\HasChildren) "/" T ("CHILDINFO" ("SUBSCRIBED"))`)
}
