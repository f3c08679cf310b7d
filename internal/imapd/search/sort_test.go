package search

import (
	"slices"
	"testing"
)

func TestSort(t *testing.T) {
	mk := func(seq uint32, size int64, arrival int, hdr string) Msg {
		return Msg{Seq: seq, UID: seq, Size: size, InternalDate: day(2024, 3, arrival, 0), Parsed: parsed(t, hdr+"\nx\n")}
	}
	msgs := []Msg{
		mk(1, 300, 5, "Subject: Re: [list] Banana\nFrom: \"Zed\" <a@x>\nTo: m@x\nCc: c@x\nDate: Fri, 1 Mar 2024 10:00:00 +0000"),
		mk(2, 100, 4, "Subject: apple\nFrom: b@x\nTo: \"Anna\" <z@x>\nDate: Fri, 1 Mar 2024 09:00:00 -0200"), // 11:00 UTC
		mk(3, 200, 3, "Subject: Fwd: banana (fwd)\nFrom: \"alice\" <c@x>\nCc: a@x"),                          // no Date: arrival, 3 Mar
		mk(4, 100, 2, "Subject: cherry\nFrom: B@x\nTo: y@x\nDate: Sat, 2 Mar 2024 00:00:00 +0000"),
		mk(5, 100, 1, ""),
	}
	tests := []struct {
		criteria string
		want     []uint32
	}{
		{"ARRIVAL", []uint32{5, 4, 3, 2, 1}},
		{"REVERSE ARRIVAL", []uint32{1, 2, 3, 4, 5}},
		{"SIZE", []uint32{2, 4, 5, 3, 1}}, // ties keep sequence order
		{"REVERSE SIZE", []uint32{1, 3, 2, 4, 5}},
		{"SUBJECT", []uint32{5, 2, 1, 3, 4}}, // "", apple, banana ×2, cherry
		{"SUBJECT REVERSE SIZE", []uint32{5, 2, 1, 3, 4}},
		{"SUBJECT SIZE", []uint32{5, 2, 3, 1, 4}},
		{"DATE", []uint32{5, 1, 2, 4, 3}},
		{"REVERSE DATE", []uint32{3, 4, 2, 1, 5}},
		{"FROM", []uint32{5, 1, 2, 4, 3}}, // "", a, b, B (same as b), c
		{"TO", []uint32{3, 5, 1, 4, 2}},
		{"CC", []uint32{2, 4, 5, 3, 1}},
		{"DISPLAYFROM", []uint32{5, 3, 2, 4, 1}}, // "", alice, b@x, B@x, Zed
		{"DISPLAYTO", []uint32{3, 5, 2, 1, 4}},   // "", "", Anna, m@x, y@x
	}
	for _, tc := range tests {
		c := mustParse(t, "a SORT ("+tc.criteria+") UTF-8 ALL\r\n")
		res, err := c.Run(msgs, Env{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Seqs(); !slices.Equal(got, tc.want) {
			t.Errorf("SORT (%s) = %v, want %v", tc.criteria, got, tc.want)
		}
	}
}
