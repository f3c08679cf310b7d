package search

import (
	"slices"
	"strings"
	"testing"
)

func TestCasemapKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abc [x] _", "ABC [X] _"},
		{"caf\u00e9", "CAFE\u0301"}, // titlecase, then canonical decomposition
		{"CAF\u00c9", "CAFE\u0301"}, // the same key
		// U+01C6 titlecases to U+01C5, which decomposes (compatibility) to
		// D and U+017E; that to z and a caron, and z titlecases again.
		{"\u01c6emal", "DZ\u030cEMAL"},
		{"\ufb01le", "FILE"},             // ligature: compatibility decomposition, titlecased again
		{"\u00df", "\u00df"},             // no simple titlecase mapping (SpecialCasing is not used)
		{"\u2126mega", "\u03a9MEGA"},     // OHM SIGN decomposes to capital omega
		{"\ud55c", "\u1112\u1161\u11ab"}, // Hangul syllable into jamo
		{"a\xffb", "A\uFFFDB"},
	} {
		if got := casemapKey(tc.in); got != tc.want {
			t.Errorf("casemapKey(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
}

// TestSortCollation replays imaptest's sort-subject, sort-addresses and
// sort-display-to mailboxes: base subjects compared with i;unicode-casemap
// (titlecase: "[xyz]" and "_" sort after "c"), ties in sequence order, and
// a group's name as the first address.
func TestSortCollation(t *testing.T) {
	mailbox := func(hdrs ...string) []Msg {
		ms := make([]Msg, len(hdrs))
		for i, h := range hdrs {
			// Sizes grow with the sequence number, like the bodies there.
			ms[i] = Msg{Seq: uint32(i + 1), UID: uint32(i + 1), Size: int64(100 + i), InternalDate: day(2008, 2, 22, i),
				Parsed: parsed(t, h+"\n\n"+strings.Repeat("x", i)+"\n")}
		}
		return ms
	}
	subjects := mailbox(
		"Subject: a",
		"Subject: C",
		"Subject: b",
		"Subject: _",
		"Subject: [foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)",
		"Subject: b (a)",
		"Subject: Re: [FWD: c]",
		"Subject: [xyz]",
		"X-No-Subject: 1",
		"Subject: =?iso-8859-1?q?_?=",
		"Subject: Re: =?utf-8?q?b?=",
		"Subject: =?iso-8859-1?q?RE:_C?=",
		"Subject: =?us-ascii?b?UmU6IGM=?=",
		"Subject: Ad: Re: Ad: Re: Ad: x",
		"Subject: re: [fwd: [fwd: re: [fwd: babylon]]]",
	)
	addresses := mailbox(
		"From: user2@domain2.org\nTo: foo bar <user2@domain2.org>\nCc: user2@domain2.org (foo bar)",
		"From: user2@domain1.org\nTo: user2@domain1.org\nCc: user2: blah@domain1.org;",
		"From: user1@domain1.org\nTo: user1@domain1.org\nCc: user1@domain1.org",
	)
	display := mailbox(
		"To: foo bar <a@b.c>",
		"To: b@c.d",
		"To: d",
		"To: =?iso-8859-1?q?foo_aar?= <e@f.g>",
		"To: =?iso-8859-1?q?foo_car?= <f@g.h>",
		"To: a: xx@xx.org, yy@yy.org;",
		"To: z: aa@aa.org, bb@bb.org;",
		"To: empty:;",
		"Cc: (foo) u@h (Ann)",
	)
	for _, tc := range []struct {
		msgs     []Msg
		criteria string
		want     []uint32
	}{
		{subjects, "SUBJECT", []uint32{9, 10, 1, 14, 3, 5, 11, 6, 15, 2, 7, 12, 13, 8, 4}},
		{subjects, "REVERSE SUBJECT", []uint32{4, 8, 2, 7, 12, 13, 15, 6, 3, 5, 11, 14, 1, 9, 10}},
		{subjects, "SUBJECT REVERSE SIZE", []uint32{10, 9, 1, 14, 11, 5, 3, 6, 15, 13, 12, 7, 2, 8, 4}},
		{addresses, "FROM", []uint32{3, 1, 2}},
		{addresses, "CC", []uint32{3, 1, 2}}, // "user2" of the group ties with user2@domain2.org
		{addresses, "REVERSE CC", []uint32{1, 2, 3}},
		{addresses, "CC REVERSE ARRIVAL", []uint32{3, 2, 1}},
		{addresses, "TO REVERSE ARRIVAL", []uint32{3, 2, 1}},
		{display, "DISPLAYTO", []uint32{9, 6, 2, 3, 8, 4, 1, 5, 7}}, // no To first
		{display, "REVERSE DISPLAYTO", []uint32{7, 5, 1, 4, 8, 3, 2, 6, 9}},
		{display, "DISPLAYFROM", []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{display, "CC", []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9}}, // "u" vs ""s: 9 last
	} {
		c := mustParse(t, "a SORT ("+tc.criteria+") UTF-8 ALL\r\n")
		res, err := c.Run(tc.msgs, Env{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Seqs(); !slices.Equal(got, tc.want) {
			t.Errorf("SORT (%s) = %v, want %v", tc.criteria, got, tc.want)
		}
	}
	if p := display[8].Parsed; p.SortCc != "u" || p.Envelope.Cc[0].Name != "Ann" {
		t.Errorf("comment display name: %q %+v", p.SortCc, p.Envelope.Cc)
	}
}
