package imapd

import "testing"

// TestSortCollationOnSocket: SORT over a socket compares base subjects and
// addresses with i;unicode-casemap (RFC 5256 §2.2: titlecased, so "[xyz]"
// and "_" come after "c"), breaks ties by sequence number even under
// REVERSE, takes a group's name as its first address, and a trailing
// comment as a display name, which ENVELOPE shows too.
func TestSortCollationOnSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	msg := func(hdr string) string { return hdr + "\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n" }
	e.deliver(e.alice, "INBOX",
		msg("Subject: [xyz]\r\nFrom: user2@domain2.org (Real Name)\r\nCc: user2@domain2.org (foo bar)"),
		msg("Subject: _\r\nFrom: zed@x.test\r\nCc: user2: blah@domain1.org;\r\nTo: a: x@x.test;"),
		msg("Subject: =?utf-8?q?Re:_C?=\r\nFrom: <b@x.test>\r\nCc: user1@domain1.org\r\nTo: =?iso-8859-1?q?foo_aar?= <e@f.g>"),
		msg("Subject: a\r\nFrom: \"\" <c@x.test>\r\nTo: b@c.d"),
	)
	c := e.dial(e.start(nil))
	c.login()
	c.cmd("s", "SELECT INBOX", "OK")
	for _, tc := range []struct{ command, want string }{
		{"SORT (SUBJECT) UTF-8 ALL", "* SORT 4 3 1 2"}, // A, C, [XYZ], _
		{"SORT (REVERSE SUBJECT) US-ASCII ALL", "* SORT 2 1 3 4"},
		{"SORT (CC) UTF-8 ALL", "* SORT 4 3 1 2"}, // "", user1, user2 ×2 in sequence order
		{"SORT (REVERSE CC) UTF-8 ALL", "* SORT 1 2 3 4"},
		{"SORT (DISPLAYFROM) UTF-8 ALL", "* SORT 3 4 1 2"}, // b@x.test, c@x.test, Real Name, zed@x.test
		{"SORT (DISPLAYTO) UTF-8 ALL", "* SORT 1 2 4 3"},   // "", a (the group), b@c.d, foo aar
		{"UID SORT (TO) UTF-8 ALL", "* SORT 1 2 4 3"},      // "", a, b, e
	} {
		lines, _ := c.cmd("t", tc.command, "OK")
		if len(lines) != 1 || lines[0] != tc.want {
			t.Errorf("%s: got %q, want %q", tc.command, lines, tc.want)
		}
	}
	lines, _ := c.cmd("f", "FETCH 1 (ENVELOPE)", "OK")
	want := `* 1 FETCH (ENVELOPE ("Mon, 2 Nov 2026 10:00:00 +0000" "[xyz]" (("Real Name" NIL "user2" "domain2.org")) ` +
		`(("Real Name" NIL "user2" "domain2.org")) (("Real Name" NIL "user2" "domain2.org")) NIL (("foo bar" NIL "user2" "domain2.org")) NIL NIL NIL))`
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("ENVELOPE:\n got %q\nwant %q", lines, want)
	}
}
