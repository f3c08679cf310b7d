package fetch

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseSection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec, partial string
		want          Section
		name          string // Name(), "" to skip
	}{
		{"", "", Section{}, "BODY[]"},
		{"", "<0.100>", Section{Partial: true, Count: 100}, "BODY[]<0>"},
		{"", "5.10", Section{Partial: true, Offset: 5, Count: 10}, "BODY[]<5>"},
		{"HEADER", "", Section{Specifier: "HEADER"}, "BODY[HEADER]"},
		{"text", "", Section{Specifier: "TEXT"}, "BODY[TEXT]"},
		{"1", "", Section{Path: []int{1}}, "BODY[1]"},
		{"1.2.3", "", Section{Path: []int{1, 2, 3}}, "BODY[1.2.3]"},
		{"1.MIME", "", Section{Path: []int{1}, Specifier: "MIME"}, "BODY[1.MIME]"},
		{"3.header", "", Section{Path: []int{3}, Specifier: "HEADER"}, "BODY[3.HEADER]"},
		{"4.2.TEXT", "<1.2>", Section{Path: []int{4, 2}, Specifier: "TEXT", Partial: true, Offset: 1, Count: 2}, "BODY[4.2.TEXT]<1>"},
		{
			"1.2.HEADER.FIELDS (From To)", "",
			Section{Path: []int{1, 2}, Specifier: "HEADER.FIELDS", Fields: []string{"From", "To"}},
			"BODY[1.2.HEADER.FIELDS (From To)]",
		},
		{
			`header.fields.not ("X-Spam" {4}` + "\r\nDate x])", "",
			Section{Specifier: "HEADER.FIELDS.NOT", Fields: []string{"X-Spam", "Date", "x]"}},
			`BODY[HEADER.FIELDS.NOT (X-Spam Date "x]")]`,
		},
		{"HEADER.FIELDS(Subject)", "", Section{Specifier: "HEADER.FIELDS", Fields: []string{"Subject"}}, ""},
		{"4294967295", "", Section{Path: []int{4294967295}}, ""},
	} {
		got, err := ParseSection(tc.spec, tc.partial)
		if err != nil {
			t.Errorf("ParseSection(%q, %q): %v", tc.spec, tc.partial, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSection(%q, %q) = %+v, want %+v", tc.spec, tc.partial, got, tc.want)
		}
		if tc.name != "" && got.Name() != tc.name {
			t.Errorf("ParseSection(%q, %q).Name() = %q, want %q", tc.spec, tc.partial, got.Name(), tc.name)
		}
	}
}

func TestParseSectionErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ spec, partial string }{
		{"0", ""},
		{"01", ""},
		{"1.", ""},
		{"1..2", ""},
		{".1", ""},
		{"1x", ""},
		{"4294967296", ""},
		{"MIME", ""},
		{"HEADER ", ""},
		{"TEXT (A)", ""},
		{"BODY", ""},
		{"1.HEADER.FIELDS", ""},
		{"HEADER.FIELDS ()", ""},
		{"HEADER.FIELDS (A", ""},
		{"HEADER.FIELDS (A) x", ""},
		{`HEADER.FIELDS ("A)`, ""},
		{"HEADER.FIELDS ({5}\r\nA)", ""},
		{"", "<1>"},
		{"", "<1.2"},
		{"", "<-1.2>"},
		{"", "<1.+2>"},
		{"", "<99999999999999999999.1>"},
	} {
		if s, err := ParseSection(tc.spec, tc.partial); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseSection(%q, %q) = %+v, %v; want ErrSyntax", tc.spec, tc.partial, s, err)
		}
	}
}

func TestParseBinarySection(t *testing.T) {
	t.Parallel()
	s, err := ParseBinarySection("1.2", "<0.10>")
	if err != nil || !s.Binary || s.Name() != "BINARY[1.2]<0>" || s.SizeName() != "BINARY.SIZE[1.2]" {
		t.Errorf("ParseBinarySection(1.2) = %+v (%s), %v", s, s.Name(), err)
	}
	if _, err := ParseBinarySection("1.TEXT", ""); !errors.Is(err, ErrSyntax) {
		t.Errorf("ParseBinarySection(1.TEXT): %v, want ErrSyntax", err)
	}
}
