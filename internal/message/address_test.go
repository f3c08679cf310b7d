package message

import "testing"

// TestSortKeys: the SORT keys of RFC 5256 §3 and RFC 5957 come from the
// first address as Dovecot takes it: a group's name, a comment's display
// name, nothing for an absent or empty field.
func TestSortKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hdr                  string
		mailbox, display     string
		toMailbox, toDisplay string
	}{
		{"From: user2@domain2.org (foo bar)", "user2", "foo bar", "", ""},
		{"From: user2: blah@domain1.org;\nTo: empty:;", "user2", "user2", "empty", "empty"},
		{"From: =?iso-8859-1?q?foo_aar?= <e@f.g>\nTo: d", "e", "foo aar", "d", "d"},
		{"From: <b@c.d>\nTo:", "b", "b@c.d", "", ""},
		{"From: u@h ()\nTo: =?utf-8?q?_?= <v@h>", "u", "u@h", "v", "v@h"}, // empty names fall back
		{"Subject: none", "", "", "", ""},
	} {
		p := mustParse(t, crlf(tc.hdr+"\n\nbody\n"))
		if p.SortFrom != tc.mailbox || p.DisplayFrom != tc.display || p.SortTo != tc.toMailbox || p.DisplayTo != tc.toDisplay {
			t.Errorf("%q: From %q %q, To %q %q; want %q %q, %q %q", tc.hdr,
				p.SortFrom, p.DisplayFrom, p.SortTo, p.DisplayTo, tc.mailbox, tc.display, tc.toMailbox, tc.toDisplay)
		}
	}
}
