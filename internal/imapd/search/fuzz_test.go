package search

import (
	"testing"
	"time"
)

// FuzzParse feeds command lines to Parse and runs what parses over a small
// mailbox: nothing may panic, and every response must end with CRLF.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a SEARCH ALL\r\n",
		"a SEARCH RETURN (MIN MAX COUNT SAVE PARTIAL -1:-5) CHARSET UTF-8 OR (SEEN 1:*) NOT UID $\r\n",
		"a SEARCH MODSEQ \"/flags/\\\\draft\" all 5 HEADER X-A {3+}\r\nabc BODY \"x\"\r\n",
		"a UID SEARCH SENTSINCE 1-Jan-2000 YOUNGER 5 LARGER 10 KEYWORD $x\r\n",
		"a SORT RETURN (ALL) (REVERSE DATE SUBJECT) UTF-8 ALL\r\n",
		"a THREAD REFERENCES US-ASCII SUBJECT hello\r\n",
		"a THREAD ORDEREDSUBJECT UTF-8 2:4\r\n",
	} {
		f.Add(s)
	}
	var msgs []Msg
	f.Fuzz(func(t *testing.T, line string) {
		if msgs == nil {
			msgs = mailbox(t)
		}
		c, err := parseLine(t, line)
		if err != nil {
			return
		}
		res, err := c.Run(msgs, Env{Saved: []uint32{10}, Now: time.Unix(1e9, 0)})
		if err != nil {
			t.Fatal(err)
		}
		for _, uid := range []bool{false, true} {
			out := res.Append(nil, "a", uid, uid)
			if len(out) > 0 && string(out[len(out)-2:]) != "\r\n" {
				t.Fatalf("%q: response %q", line, out)
			}
		}
		res.Save()
	})
}
