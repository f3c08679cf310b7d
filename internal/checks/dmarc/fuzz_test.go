package dmarc

import (
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics, and what it accepts comes back from
// String unchanged.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.txt)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		r, err := Parse(txt)
		if err != nil {
			return
		}
		s := r.String()
		again, err := Parse(s)
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("Parse(%q) = %+v\nString = %q\nParse again = %+v, %v", txt, r, s, again, err)
		}
	})
}
