package imapwire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func encode(utf8 bool, f func(e *Encoder)) string {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	e.UTF8 = utf8
	f(e)
	if err := e.Flush(); err != nil {
		panic(err)
	}
	return buf.String()
}

func TestEncoder(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 1001)
	for _, tc := range []struct {
		name string
		utf8 bool
		f    func(e *Encoder)
		want string
	}{
		{"status", false, func(e *Encoder) {
			e.Raw("*").SP().Number(23).SP().Atom("EXISTS").CRLF()
		}, "* 23 EXISTS\r\n"},
		{"number64", false, func(e *Encoder) { e.Number64(9223372036854775807) }, "9223372036854775807"},
		{"number max", false, func(e *Encoder) { e.Number(4294967295) }, "4294967295"},
		{"string", false, func(e *Encoder) { e.String("hello world") }, `"hello world"`},
		{"string empty", false, func(e *Encoder) { e.String("") }, `""`},
		{"string escapes", false, func(e *Encoder) { e.String(`a"b\c`) }, `"a\"b\\c"`},
		{"string CRLF", false, func(e *Encoder) { e.String("a\r\nb") }, "{4}\r\na\r\nb"},
		{"string NUL", false, func(e *Encoder) { e.String("a\x00") }, "{2}\r\na\x00"},
		{"string tab", false, func(e *Encoder) { e.String("a\tb") }, "\"a\tb\""},
		{"string utf8 rev1", false, func(e *Encoder) { e.String("台北") }, "{6}\r\n台北"},
		{"string utf8 accept", true, func(e *Encoder) { e.String("台北") }, `"台北"`},
		{"string invalid utf8", true, func(e *Encoder) { e.String("\xff") }, "{1}\r\n\xff"},
		{"string long", false, func(e *Encoder) { e.String(long) }, "{1001}\r\n" + long},
		{"string 1000", false, func(e *Encoder) { e.String(long[:1000]) }, `"` + long[:1000] + `"`},
		{"nstring nil", false, func(e *Encoder) { e.NString("x", false) }, "NIL"},
		{"nstring", false, func(e *Encoder) { e.NString("", true) }, `""`},
		{"astring atom", false, func(e *Encoder) { e.AString("INBOX") }, "INBOX"},
		{"astring bracket", false, func(e *Encoder) { e.AString("a]b") }, "a]b"},
		{"astring space", false, func(e *Encoder) { e.AString("a b") }, `"a b"`},
		{"astring wildcard", false, func(e *Encoder) { e.AString("a*") }, `"a*"`},
		{"astring empty", false, func(e *Encoder) { e.AString("") }, `""`},
		{"astring NIL", false, func(e *Encoder) { e.AString("Nil") }, `"Nil"`},
		{"astring 8-bit", false, func(e *Encoder) { e.AString("é") }, "{2}\r\né"},
		{"list", false, func(e *Encoder) {
			flags := []string{`\Seen`, "$Junk"}
			e.List(len(flags), func(i int) { e.Atom(flags[i]) })
		}, `(\Seen $Junk)`},
		{"list empty", false, func(e *Encoder) { e.List(0, nil) }, "()"},
		{"list nested", false, func(e *Encoder) {
			e.List(2, func(i int) { e.List(i, func(int) { e.Number(1) }) })
		}, "(() (1))"},
	} {
		if got := encode(tc.utf8, tc.f); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEncoderLiteral(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	e.Raw("* 1 FETCH (BODY[] ")
	must(t, e.Literal(7, strings.NewReader("a\r\n\x00bcdEXTRA"), false))
	e.Raw(" BINARY[] ")
	must(t, e.Literal(2, strings.NewReader("\x00\x01"), true))
	e.Raw(")").CRLF()
	if buf.Len() != 0 {
		t.Fatal("Encoder wrote before Flush")
	}
	must(t, e.Flush())
	if want := "* 1 FETCH (BODY[] {7}\r\na\r\n\x00bcd BINARY[] ~{2}\r\n\x00\x01)\r\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}

	e = NewEncoder(io.Discard)
	if err := e.Literal(10, strings.NewReader("short"), false); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short literal: %v", err)
	}
	if e.Err() == nil || e.Flush() == nil {
		t.Error("error not sticky")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestEncoderError(t *testing.T) {
	t.Parallel()
	e := NewEncoder(failWriter{})
	e.Raw(strings.Repeat("x", 64<<10)).Number(1).String("a") // more than the buffer
	if e.Err() == nil {
		t.Fatal("no error")
	}
	if err := e.Flush(); err == nil || err != e.Err() {
		t.Errorf("Flush: %v", err)
	}
}

// What the Encoder writes, the Decoder reads back unchanged.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "plain", "two words", `"quoted"`, `back\slash`, `\"`, "a\r\nb", "\r\n",
		"trailing\r", "台北/日本語", "é", "NIL", "nil", "a]b", "{5}", "{5+}\r\n",
		"*%", "(paren)", strings.Repeat("x", 5000), "tab\there", "\x7f",
	} {
		for _, utf8 := range []bool{false, true} {
			wire := encode(utf8, func(e *Encoder) {
				e.String(s).SP().AString(s).SP().NString(s, true).SP().NString(s, false).CRLF()
			})
			d := NewDecoder(strings.NewReader(wire), nil, Limits{})
			got1, err := d.String()
			must(t, err)
			must(t, d.SP())
			got2, err := d.AString()
			must(t, err)
			must(t, d.SP())
			got3, ok3, err := d.NString()
			must(t, err)
			must(t, d.SP())
			got4, ok4, err := d.NString()
			must(t, err)
			must(t, d.CRLF())
			if got1 != s || got2 != s || got3 != s || !ok3 || got4 != "" || ok4 {
				t.Errorf("utf8=%v %q → %q → %q %q %q/%v %q/%v", utf8, s, wire, got1, got2, got3, ok3, got4, ok4)
			}
		}
	}
}
