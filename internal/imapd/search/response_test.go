package search

import (
	"slices"
	"testing"
)

func TestAppend(t *testing.T) {
	msgs := mailbox(t)
	tests := []struct {
		line       string
		uid, rev2  bool
		want       string
		save       []uint32 // nil: no SAVE
		wantNoSave bool
	}{
		{line: "SEARCH UNSEEN", want: "* SEARCH 2 3 5\r\n"},
		{line: "SEARCH UNSEEN", uid: true, want: "* SEARCH 20 30 50\r\n"},
		{line: "SEARCH KEYWORD nothing", want: "* SEARCH\r\n"},
		{line: "SEARCH MODSEQ 6", want: "* SEARCH 2 3 5 (MODSEQ 12)\r\n"},
		{line: "SEARCH MODSEQ 100", want: "* SEARCH\r\n"},
		{line: "SEARCH UNSEEN", rev2: true, want: "* ESEARCH (TAG \"t1\") ALL 2:3,5\r\n"},
		{line: "SEARCH UNSEEN", rev2: true, uid: true, want: "* ESEARCH (TAG \"t1\") UID ALL 20,30,50\r\n"},
		{line: "SEARCH KEYWORD nothing", rev2: true, want: "* ESEARCH (TAG \"t1\")\r\n"},
		{line: "SEARCH RETURN (MIN MAX COUNT) UNSEEN", want: "* ESEARCH (TAG \"t1\") MIN 2 MAX 5 COUNT 3\r\n"},
		{line: "SEARCH RETURN (MIN MAX COUNT) KEYWORD x", want: "* ESEARCH (TAG \"t1\") COUNT 0\r\n"},
		{line: "SEARCH RETURN () ALL", want: "* ESEARCH (TAG \"t1\") ALL 1:5\r\n"},
		{line: "SEARCH RETURN (ALL) MODSEQ 1 UNSEEN", want: "* ESEARCH (TAG \"t1\") ALL 2:3,5 MODSEQ 12\r\n"},
		{line: "SEARCH RETURN (MIN) MODSEQ 1 UNSEEN", want: "* ESEARCH (TAG \"t1\") MIN 2 MODSEQ 9\r\n"},
		{line: "SEARCH RETURN (SAVE) UNSEEN", want: "", save: []uint32{20, 30, 50}},
		{line: "SEARCH RETURN (SAVE MIN) UNSEEN", want: "* ESEARCH (TAG \"t1\") MIN 2\r\n", save: []uint32{20}},
		{line: "SEARCH RETURN (SAVE MIN MAX) UNSEEN", want: "* ESEARCH (TAG \"t1\") MIN 2 MAX 5\r\n", save: []uint32{20, 50}},
		{line: "SEARCH RETURN (SAVE MIN COUNT) UNSEEN", want: "* ESEARCH (TAG \"t1\") MIN 2 COUNT 3\r\n", save: []uint32{20, 30, 50}},
		{line: "SEARCH RETURN (SAVE) KEYWORD x", want: "", save: []uint32{}},
		{line: "SEARCH RETURN (PARTIAL 2:3) ALL", want: "* ESEARCH (TAG \"t1\") PARTIAL (2:3 2:3)\r\n"},
		{line: "SEARCH RETURN (PARTIAL 4:100) ALL", uid: true, want: "* ESEARCH (TAG \"t1\") UID PARTIAL (4:100 40,50)\r\n"},
		{line: "SEARCH RETURN (PARTIAL 6:9) ALL", want: "* ESEARCH (TAG \"t1\") PARTIAL (6:9 NIL)\r\n"},
		{line: "SEARCH RETURN (PARTIAL -1:-2) ALL", want: "* ESEARCH (TAG \"t1\") PARTIAL (-1:-2 4:5)\r\n"},
		{line: "SEARCH RETURN (PARTIAL -3:-100 COUNT) ALL", want: "* ESEARCH (TAG \"t1\") COUNT 5 PARTIAL (-3:-100 1:3)\r\n"},
		{line: "SEARCH RETURN (PARTIAL -6:-9) ALL", want: "* ESEARCH (TAG \"t1\") PARTIAL (-6:-9 NIL)\r\n"},
		{line: "SORT (SIZE) UTF-8 ALL", want: "* SORT 5 3 1 2 4\r\n"},
		{line: "SORT (REVERSE SIZE) UTF-8 ALL", uid: true, want: "* SORT 40 20 10 30 50\r\n"},
		{line: "SORT (SIZE) UTF-8 MODSEQ 1 UNSEEN", want: "* SORT 5 3 2 (MODSEQ 12)\r\n"},
		{line: "SORT RETURN (MIN MAX ALL COUNT) (SIZE) UTF-8 UNSEEN", want: "* ESEARCH (TAG \"t1\") MIN 5 MAX 2 ALL 5,3,2 COUNT 3\r\n"},
		{line: "SORT RETURN (PARTIAL 1:2) (REVERSE SIZE) UTF-8 ALL", want: "* ESEARCH (TAG \"t1\") PARTIAL (1:2 4,2)\r\n"},
		// ESORT sets keep the sort order; only ascending runs become ranges.
		{line: "SORT RETURN (ALL) (ARRIVAL) UTF-8 ALL", want: "* ESEARCH (TAG \"t1\") ALL 1:5\r\n"},
		{line: "SORT RETURN (ALL) (ARRIVAL) UTF-8 ALL", uid: true, want: "* ESEARCH (TAG \"t1\") UID ALL 10,20,30,40,50\r\n"},
		{line: "SORT RETURN (ALL) (SIZE) UTF-8 ALL", want: "* ESEARCH (TAG \"t1\") ALL 5,3,1:2,4\r\n"},
		{line: "SORT RETURN (PARTIAL 4:2) (ARRIVAL) UTF-8 ALL", want: "* ESEARCH (TAG \"t1\") PARTIAL (2:4 2:4)\r\n"},
		{line: "SORT RETURN (PARTIAL 1:6) (REVERSE ARRIVAL) UTF-8 ALL", want: "* ESEARCH (TAG \"t1\") PARTIAL (1:6 5,4,3,2,1)\r\n"},
		{line: "SORT RETURN (PARTIAL -2:-1) (SIZE) UTF-8 ALL", want: "* ESEARCH (TAG \"t1\") PARTIAL (-1:-2 2,4)\r\n"},
	}
	for _, tc := range tests {
		c := mustParse(t, "t1 "+tc.line+"\r\n")
		res, err := c.Run(msgs, Env{})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(res.Append(nil, "t1", tc.uid, tc.rev2)); got != tc.want {
			t.Errorf("%s (uid %v rev2 %v):\n got %q\nwant %q", tc.line, tc.uid, tc.rev2, got, tc.want)
		}
		saved, ok := res.Save()
		if ok != (tc.save != nil) || !slices.Equal(saved, tc.save) && len(saved)+len(tc.save) > 0 {
			t.Errorf("%s: Save() = %v %v, want %v", tc.line, saved, ok, tc.save)
		}
	}
}
