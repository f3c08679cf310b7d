package message

import (
	"strings"
	"testing"
)

// StrayLine tells a header ended by a line that is not a field from one
// ended by the blank line.
func TestStrayLine(t *testing.T) {
	for raw, want := range map[string]bool{
		"From: a@x.test\r\nSubject: s\r\n\r\nbody\r\n":            false,
		"From: a@x.test\r\n\tfolded\r\n\r\nbody\r\n":              false,
		"From: a@x.test\r\nnot a field\r\nFrom: b@x.test\r\n\r\n": true,
		"junk\r\nFrom: a@x.test\r\n\r\n":                          true,
		"":                                                        false,
	} {
		p, err := Parse(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if p.StrayLine != want {
			t.Errorf("%q: StrayLine %v, want %v", raw, p.StrayLine, want)
		}
	}
}
