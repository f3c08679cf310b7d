package message

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that no input makes Parse fail, panic or produce
// offsets outside the message, and that the result can always be stored.
// Seeds: the structure cases plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, tc := range structureCases {
		f.Add([]byte(tc.raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if err := checkParsed(p, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("json: %v", err)
		}
		for _, s := range []string{p.Text, p.Preview, p.BaseSubject, p.DisplayFrom, p.DisplayTo} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8: %q", s)
			}
		}
		if len(p.Text) > MaxTextSize || utf8.RuneCountInString(p.Preview) > MaxPreview {
			t.Fatalf("Text %d bytes, Preview %d characters", len(p.Text), utf8.RuneCountInString(p.Preview))
		}
	})
}
