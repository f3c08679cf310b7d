package search

import (
	"errors"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/imapd/imapwire"
)

func TestParseKeys(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ALL", "(AND (ALL))"},
		{"all", "(AND (ALL))"},
		{"ANSWERED UNANSWERED", `(AND (FLAG \Answered) (NOT (FLAG \Answered)))`},
		{"DELETED DRAFT FLAGGED SEEN", `(AND (FLAG \Deleted) (FLAG \Draft) (FLAG \Flagged) (FLAG \Seen))`},
		{"UNDELETED UNDRAFT UNFLAGGED UNSEEN", `(AND (NOT (FLAG \Deleted)) (NOT (FLAG \Draft)) (NOT (FLAG \Flagged)) (NOT (FLAG \Seen)))`},
		{"NEW OLD RECENT", "(AND (NEW) (OLD) (RECENT))"},
		{"KEYWORD $Forwarded UNKEYWORD Junk", `(AND (FLAG $Forwarded) (NOT (FLAG Junk)))`},
		{"BCC x CC \"y z\" FROM {3}\r\nabc", `(AND (HEADER bcc "x") (HEADER cc "y z") (HEADER from "abc"))`},
		{"SUBJECT hello TO bob", `(AND (HEADER subject "hello") (HEADER to "bob"))`},
		{`HEADER X-Spam "yes" HEADER "Message-ID" ""`, `(AND (HEADER x-spam "yes") (HEADER message-id ""))`},
		{`BODY word TEXT "two words"`, `(AND (BODY "word") (TEXT "two words"))`},
		{"BEFORE 1-Feb-1994 ON \"01-Feb-1994\" SINCE 29-Feb-2024", "(AND (BEFORE 1994-02-01) (ON 1994-02-01) (SINCE 2024-02-29))"},
		{"SENTBEFORE 1-Jan-2000 SENTON 2-Jan-2000 SENTSINCE 3-Jan-2000", "(AND (SENTBEFORE 2000-01-01) (SENTON 2000-01-02) (SENTSINCE 2000-01-03))"},
		{"SAVEDBEFORE 1-Jan-2000 SAVEDON 2-Jan-2000 SAVEDSINCE 3-Jan-2000 SAVEDATESUPPORTED",
			"(AND (SAVEDBEFORE 2000-01-01) (SAVEDON 2000-01-02) (SAVEDSINCE 2000-01-03) (SAVEDATESUPPORTED))"},
		{"LARGER 100 SMALLER 18446744073", "(AND (LARGER 100) (SMALLER 18446744073))"},
		{"OLDER 3600 YOUNGER 60", "(AND (OLDER 3600) (YOUNGER 60))"},
		{"1:3,5 UID 2:* *", "(AND (SEQ 1:3,5) (UID 2:*) (SEQ *))"},
		{"$ UID $", "(AND (SEQ $) (UID $))"},
		{"NOT NOT SEEN", `(AND (NOT (NOT (FLAG \Seen))))`},
		{"OR SEEN (FLAGGED DELETED)", `(AND (OR (FLAG \Seen) (AND (FLAG \Flagged) (FLAG \Deleted))))`},
		{"OR OR 1 2 3", "(AND (OR (OR (SEQ 1) (SEQ 2)) (SEQ 3)))"},
		{"(((ALL)))", "(AND (AND (AND (AND (ALL)))))"},
		{"MODSEQ 0", "(AND (MODSEQ 0))"},
		{`MODSEQ "/flags/\\draft" all 620162338`, "(AND (MODSEQ 620162338))"},
		{"EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9", `(AND (EMAILID "M6d99ac3275bb4e") (THREADID "T64b478a75b7ea9"))`},
		{`CHARSET UTF-8 BODY "café"`, `(AND (BODY "café"))`},
		{`CHARSET "us-ascii" ALL`, "(AND (ALL))"},
		{"RETURN (MIN) RECENT", "(AND (RECENT))"},
		{"RECENT", "(AND (RECENT))"},
		{"RETURN () CHARSET UTF-8 1", "(AND (SEQ 1))"},
	}
	for _, tc := range tests {
		c, err := parseLine(t, "a SEARCH "+tc.in+"\r\n")
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := c.Key.String(); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestParseReturn(t *testing.T) {
	tests := []struct {
		in   string
		want ReturnOpts
	}{
		{"RETURN () ALL", ReturnOpts{All: true}},
		{"RETURN (MIN MAX COUNT) ALL", ReturnOpts{Min: true, Max: true, Count: true}},
		{"RETURN (save) ALL", ReturnOpts{Save: true}},
		{"RETURN (ALL SAVE) ALL", ReturnOpts{All: true, Save: true}},
		{"RETURN (PARTIAL 1:10) ALL", ReturnOpts{Partial: &Partial{1, 10, false}}},
		{"RETURN (PARTIAL -1:-100 COUNT) ALL", ReturnOpts{Count: true, Partial: &Partial{1, 100, true}}},
		{"RETURN (PARTIAL 20:11) ALL", ReturnOpts{Partial: &Partial{11, 20, false}}},
		{"RETURN (CONTEXT UPDATE COUNT) ALL", ReturnOpts{Count: true, Context: true, Update: true}},
	}
	for _, tc := range tests {
		c := mustParse(t, "a SEARCH "+tc.in+"\r\n")
		got := *c.Return
		if got.Partial != nil && tc.want.Partial != nil && *got.Partial == *tc.want.Partial {
			got.Partial = tc.want.Partial
		}
		if got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
	if c := mustParse(t, "a SEARCH ALL\r\n"); c.Return != nil {
		t.Errorf("no RETURN: %+v", c.Return)
	}
}

func TestNeeds(t *testing.T) {
	tests := []struct {
		line                    string
		row, parsed, modseq, dl bool
	}{
		{"SEARCH SEEN 1:3 UID 4 NOT KEYWORD x BODY y FROM z", false, false, false, false},
		{"SEARCH OR SEEN LARGER 5", true, false, false, false},
		{"SEARCH SINCE 1-Jan-2020", true, false, false, false},
		{"SEARCH SENTON 1-Jan-2020", true, true, false, false},
		{"SEARCH YOUNGER 5", true, false, false, false},
		{"SEARCH EMAILID M1", true, false, false, false},
		{"SEARCH SAVEDATESUPPORTED", true, false, false, false},
		{"SEARCH NOT (MODSEQ 5)", false, false, true, false},
		{"SEARCH OR 1 (UID $)", false, false, false, true},
		{"SORT (SIZE) UTF-8 ALL", true, true, false, false},
		{"THREAD REFERENCES UTF-8 ALL", true, true, false, false},
		{"SORT (DATE) UTF-8 SENTSINCE 1-Jan-2020", true, true, false, false},
	}
	for _, tc := range tests {
		c := mustParse(t, "a "+tc.line+"\r\n")
		if c.UsesSentDay() != strings.Contains(tc.line, "SENT") {
			t.Errorf("%s: UsesSentDay %v", tc.line, c.UsesSentDay())
		}
		if c.NeedsRow() != tc.row || c.NeedsParsed() != tc.parsed || c.UsesModSeq() != tc.modseq || c.UsesDollar() != tc.dl {
			t.Errorf("%s: row %v parsed %v modseq %v dollar %v", tc.line, c.NeedsRow(), c.NeedsParsed(), c.UsesModSeq(), c.UsesDollar())
		}
	}
}

func TestParseSortThread(t *testing.T) {
	c := mustParse(t, "a UID SORT (REVERSE ARRIVAL subject DISPLAYFROM) UTF-8 ALL\r\n")
	want := []SortKey{{"ARRIVAL", true}, {"SUBJECT", false}, {"DISPLAYFROM", false}}
	if c.Kind != Sort || len(c.SortBy) != 3 || c.SortBy[0] != want[0] || c.SortBy[1] != want[1] || c.SortBy[2] != want[2] {
		t.Errorf("sort: %+v", c)
	}
	c = mustParse(t, "a SORT RETURN (MIN COUNT) (DATE) US-ASCII SEEN\r\n")
	if !c.Return.Min || !c.Return.Count || c.SortBy[0].By != "DATE" || c.Key.String() != `(AND (FLAG \Seen))` {
		t.Errorf("esort: %+v %s", c.Return, c.Key)
	}
	c = mustParse(t, "a THREAD references UTF-8 SINCE 5-MAR-2000\r\n")
	if c.Kind != Thread || c.Algo != "REFERENCES" || !c.NeedsParsed() {
		t.Errorf("thread: %+v", c)
	}
	c = mustParse(t, "a THREAD ORDEREDSUBJECT US-ASCII ALL\r\n")
	if c.Algo != "ORDEREDSUBJECT" {
		t.Errorf("thread: %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	bad := []string{
		"", " ", "FOO", "ALL  SEEN", "ALL ", "(", "()", "(ALL", "ALL)", "NOT", "NOT ", "OR SEEN",
		"BEFORE", "BEFORE 32-Jan-2000", "BEFORE 1-Foo-2000", "LARGER x", "LARGER -1",
		"UID", "UID 0", "UID x", "0", "1:", "KEYWORD", "KEYWORD (", "HEADER x", "BODY", "BODY \"unterminated",
		"MODSEQ", `MODSEQ "/flags/x" bogus 1`, `MODSEQ "nope" all 1`, "MODSEQ 99999999999999999999",
		"EMAILID a.b", "THREADID", "OLDER 0", "CHARSET", "RETURN (BOGUS) ALL", "RETURN MIN ALL",
		"RETURN (PARTIAL 0:1) ALL", "RETURN (PARTIAL -1:5) ALL", "RETURN (PARTIAL 1) ALL",
		"RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL", "RETURN (MIN)", "RETURN (MIN) ",
		strings.Repeat("NOT ", 100) + "ALL", strings.Repeat("(", 100) + "ALL" + strings.Repeat(")", 100),
	}
	for _, in := range bad {
		_, err := parseLine(t, "a SEARCH "+in+"\r\n")
		if err == nil {
			t.Errorf("%q: no error", in)
		} else if !errors.Is(err, imapwire.ErrSyntax) {
			t.Errorf("%q: %v, want a syntax error", in, err)
		}
	}
	badSort := []string{
		"a SORT ALL\r\n", "a SORT () UTF-8 ALL\r\n", "a SORT (REVERSE) UTF-8 ALL\r\n",
		"a SORT (ARRIVAL REVERSE) UTF-8 ALL\r\n", "a SORT (BOGUS) UTF-8 ALL\r\n",
		"a SORT (DATE) UTF-8\r\n", "a SORT (REVERSE REVERSE DATE) UTF-8 ALL\r\n",
		"a THREAD BOGUS UTF-8 ALL\r\n", "a THREAD\r\n", "a THREAD REFERENCES UTF-8\r\n",
	}
	for _, in := range badSort {
		if _, err := parseLine(t, in); !errors.Is(err, imapwire.ErrSyntax) {
			t.Errorf("%q: %v, want a syntax error", in, err)
		}
	}
	for _, in := range []string{
		"a SEARCH CHARSET ISO-8859-1 ALL\r\n", "a SORT (DATE) KOI8-R ALL\r\n", "a THREAD REFERENCES x ALL\r\n",
		"a SORT (DATE) ALL\r\n", // ALL is taken for the charset

	} {
		if _, err := parseLine(t, in); !errors.Is(err, ErrBadCharset) {
			t.Errorf("%q: %v, want ErrBadCharset", in, err)
		}
	}
}
