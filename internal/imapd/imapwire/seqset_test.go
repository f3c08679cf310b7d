package imapwire

import (
	"slices"
	"strings"
	"testing"
)

func parseSeqSet(t *testing.T, s string) SeqSet {
	t.Helper()
	d := NewDecoder(strings.NewReader(s+"\r\n"), nil, Limits{})
	set, err := d.SeqSet()
	if err != nil {
		t.Fatalf("SeqSet(%q): %v", s, err)
	}
	if !d.AtEnd() {
		t.Fatalf("SeqSet(%q) stopped early", s)
	}
	return set
}

func TestSeqSetNumbers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		set  string
		max  uint32
		want []uint32
	}{
		{"1:3,5,7:*", 9, []uint32{1, 2, 3, 5, 7, 8, 9}},
		{"*:1", 3, []uint32{1, 2, 3}},
		{"4:2", 10, []uint32{2, 3, 4}},
		{"1:*", 0, nil},
		{"*", 0, nil},
		{"*", 5, []uint32{5}},
		{"559:*", 500, []uint32{500}}, // RFC 9051 §6.4.9: includes the last UID
		{"1:4294967295", 3, []uint32{1, 2, 3}},
		{"4294967295", 3, nil},
		{"3,1,2,2:3,1", 10, []uint32{1, 2, 3}},
		{"5:7,1:6", 10, []uint32{1, 2, 3, 4, 5, 6, 7}},
		{"8:9,1", 4, []uint32{1}},
		{"4294967294:4294967295", 4294967295, []uint32{4294967294, 4294967295}},
	} {
		set := parseSeqSet(t, tc.set)
		got := set.Numbers(tc.max)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q.Numbers(%d) = %v, want %v", tc.set, tc.max, got, tc.want)
		}
		// Contains agrees with Numbers, around the edges too.
		for n := uint32(0); n <= tc.max+2 && n < 20; n++ {
			if c := set.Contains(n, tc.max); c != slices.Contains(tc.want, n) {
				t.Errorf("%q.Contains(%d, %d) = %v", tc.set, n, tc.max, c)
			}
		}
	}
	if n := (SeqSet{Dollar: true}).Numbers(10); n != nil {
		t.Errorf("$.Numbers = %v", n)
	}
	if (SeqSet{Dollar: true}).Contains(1, 10) {
		t.Error("$ contains 1")
	}
	if (SeqSet{Ranges: []SeqRange{{4294967295, 4294967295}}}).Contains(4294967295, 4294967295) != true {
		t.Error("max value not contained")
	}
}

func TestSeqSetString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"1:3,5,7:*", "1:3,5,7:*"},
		{"*:1", "1:*"},
		{"4:2", "2:4"},
		{"*", "*"},
		{"*:*", "*"},
		{"$", "$"},
		{"5,3,4,1", "1,3:5"},
		{"1:5,2:3,6", "1:6"},
		{"7:*,*,3:*,7:*", "3:*,7:*"},
		{"4294967295,4294967294", "4294967294:4294967295"},
		{"2,*", "2,*"},
	} {
		if got := parseSeqSet(t, tc.in).String(); got != tc.want {
			t.Errorf("%q.String() = %q, want %q", tc.in, got, tc.want)
		}
	}
	if s := (SeqSet{}).String(); s != "" {
		t.Errorf("empty set: %q", s)
	}
}

func TestSeqSetOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []uint32
		want string
	}{
		{nil, ""},
		{[]uint32{1}, "1"},
		{[]uint32{1, 2, 3, 5, 7, 8}, "1:3,5,7:8"},
		{[]uint32{3, 1, 2, 2}, "1:3"},
		{[]uint32{0, 0, 4}, "4"},
		{[]uint32{4294967294, 4294967295, 4294967295}, "4294967294:4294967295"},
	} {
		in := slices.Clone(tc.in)
		set := SeqSetOf(in)
		if got := set.String(); got != tc.want {
			t.Errorf("SeqSetOf(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("SeqSetOf modified its input: %v", in)
		}
		// The ranges themselves are already compact.
		if got := len(set.Ranges); got != strings.Count(tc.want, ",")+1 && tc.want != "" {
			t.Errorf("SeqSetOf(%v): %d ranges", tc.in, got)
		}
	}
}

// AppendSeqList keeps the order and joins only ascending runs (RFC 5267
// §3.2 as Dovecot writes ESORT results).
func TestAppendSeqList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []uint32
		want string
	}{
		{nil, ""},
		{[]uint32{7}, "7"},
		{[]uint32{1, 2, 3, 4, 5}, "1:5"},
		{[]uint32{5, 3, 4, 2, 1}, "5,3:4,2,1"},
		{[]uint32{3, 4, 2}, "3:4,2"},
		{[]uint32{5, 4, 3}, "5,4,3"},
		{[]uint32{1, 3, 4, 5, 9}, "1,3:5,9"},
		{[]uint32{4294967294, 4294967295, 1}, "4294967294:4294967295,1"},
	} {
		if got := string(AppendSeqList([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("AppendSeqList(%v) = %q, want %q", tc.in, got, "x"+tc.want)
		}
	}
}

// Numbers ∘ SeqSetOf is the identity on sorted distinct numbers.
func TestSeqSetOfRoundTrip(t *testing.T) {
	t.Parallel()
	nums := []uint32{1, 2, 4, 5, 6, 9, 10, 20}
	if got := SeqSetOf(nums).Numbers(20); !slices.Equal(got, nums) {
		t.Errorf("round trip: %v", got)
	}
	if got := parseSeqSet(t, SeqSetOf(nums).String()).Numbers(20); !slices.Equal(got, nums) {
		t.Errorf("through the wire: %v", got)
	}
}
