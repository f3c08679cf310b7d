package imapwire

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// decodeCase runs one decoder method on in and checks the result, the
// error and the bytes left unread.
type decodeCase struct {
	name string
	in   string
	fn   func(d *Decoder) (any, error)
	want any
	err  error // nil: must succeed
	rest string
}

func runDecodeCases(t *testing.T, cases []decodeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := NewDecoder(strings.NewReader(tc.in), nil, Limits{})
			got, err := tc.fn(d)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("%q: error %v, want %v", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%q: got %#v, want %#v", tc.in, got, tc.want)
			}
			rest, _ := io.ReadAll(d.br)
			if string(rest) != tc.rest {
				t.Errorf("%q: left %q, want %q", tc.in, rest, tc.rest)
			}
		})
	}
}

func str(f func(d *Decoder) (string, error)) func(d *Decoder) (any, error) {
	return func(d *Decoder) (any, error) { return f(d) }
}

func TestAtom(t *testing.T) {
	t.Parallel()
	atom := str((*Decoder).Atom)
	runDecodeCases(t, []decodeCase{
		{"command", "select INBOX\r\n", atom, "select", nil, " INBOX\r\n"},
		{"stops at ]", "BODY[TEXT]\r\n", atom, "BODY[TEXT", nil, "]\r\n"},
		{"stops at (", "FLAGS(x)", atom, "FLAGS", nil, "(x)"},
		{"plus and dot", "a+b.c\r\n", atom, "a+b.c", nil, "\r\n"},
		{"empty", " x", atom, nil, ErrSyntax, ""},
		{"quote", `"x"`, atom, nil, ErrSyntax, ""},
		{"8-bit", "\xc3\xa9", atom, nil, ErrSyntax, ""},
		{"ctl", "\x01", atom, nil, ErrSyntax, ""},
		{"eof", "abc", atom, nil, io.ErrUnexpectedEOF, ""},
	})
}

func TestFlag(t *testing.T) {
	t.Parallel()
	flag := str((*Decoder).Flag)
	runDecodeCases(t, []decodeCase{
		{"system", `\Seen)`, flag, `\Seen`, nil, ")"},
		{"perm", `\* `, flag, `\*`, nil, " "},
		{"keyword", "$Forwarded ", flag, "$Forwarded", nil, " "},
		{"bare backslash", `\ `, flag, nil, ErrSyntax, ""},
		{"double backslash", `\\Seen`, flag, nil, ErrSyntax, ""},
		{"star keyword", "* ", flag, nil, ErrSyntax, ""},
	})
}

func TestNumbers(t *testing.T) {
	t.Parallel()
	num := func(d *Decoder) (any, error) { return d.Number() }
	nz := func(d *Decoder) (any, error) { return d.NZNumber() }
	num64 := func(d *Decoder) (any, error) { return d.Number64() }
	runDecodeCases(t, []decodeCase{
		{"zero", "0 ", num, uint32(0), nil, " "},
		{"max", "4294967295)", num, uint32(4294967295), nil, ")"},
		{"leading zeros", "0007:", num, uint32(7), nil, ":"},
		{"overflow", "4294967296", num, nil, ErrSyntax, ""},
		{"none", "x", num, nil, ErrSyntax, ""},
		{"negative", "-1", num, nil, ErrSyntax, ""},
		{"nz", "12 ", nz, uint32(12), nil, " "},
		{"nz zero", "0 ", nz, nil, ErrSyntax, ""},
		{"64 max", "9223372036854775807 ", num64, uint64(9223372036854775807), nil, " "},
		{"64 overflow", "9223372036854775808 ", num64, nil, ErrSyntax, ""},
	})
}

func TestStrings(t *testing.T) {
	t.Parallel()
	quoted := str((*Decoder).Quoted)
	sstr := str((*Decoder).String)
	astr := str((*Decoder).AString)
	list := str((*Decoder).ListMailbox)
	nstr := func(d *Decoder) (any, error) {
		s, ok, err := d.NString()
		if !ok {
			return nil, err
		}
		return s, err
	}
	runDecodeCases(t, []decodeCase{
		{"quoted", `"a b" `, quoted, "a b", nil, " "},
		{"quoted empty", `""x`, quoted, "", nil, "x"},
		{"quoted escapes", `"a\"b\\c"`, quoted, `a"b\c`, nil, ""},
		{"quoted utf8", "\"台北\"\r\n", quoted, "台北", nil, "\r\n"},
		{"quoted bad escape", `"a\nb"`, quoted, nil, ErrSyntax, ""},
		{"quoted CR", "\"a\r\n", quoted, nil, ErrSyntax, ""},
		{"quoted NUL", "\"a\x00\"", quoted, nil, ErrSyntax, ""},
		{"quoted unterminated", `"abc`, quoted, nil, io.ErrUnexpectedEOF, ""},
		{"quoted not", "abc", quoted, nil, ErrSyntax, ""},
		{"string quoted", `"x" `, sstr, "x", nil, " "},
		{"string literal", "{3}\r\na\"c ", sstr, "a\"c", nil, " "},
		{"string literal empty", "{0}\r\n)", sstr, "", nil, ")"},
		{"string literal+", "{2+}\r\n\r\n\r\n", sstr, "\r\n", nil, "\r\n"},
		{"string literal8", "~{2}\r\nab", sstr, nil, ErrSyntax, ""},
		{"string literal NUL", "{2}\r\na\x00", sstr, nil, ErrSyntax, ""},
		{"string literal short", "{5}\r\nab", sstr, nil, io.ErrUnexpectedEOF, ""},
		{"string atom", "abc", sstr, nil, ErrSyntax, ""},
		{"string bad literal", "{x}\r\n", sstr, nil, ErrSyntax, ""},
		{"string literal no CRLF", "{2} ab", sstr, nil, ErrSyntax, ""},
		{"astring atom", "INBOX ", astr, "INBOX", nil, " "},
		{"astring bracket", "a]b ", astr, "a]b", nil, " "},
		{"astring quoted", `"a b" `, astr, "a b", nil, " "},
		{"astring literal", "{1}\r\nx ", astr, "x", nil, " "},
		{"astring NIL", "NIL ", astr, "NIL", nil, " "},
		{"astring wildcard", "a* ", astr, "a", nil, "* "},
		{"astring empty", "(", astr, nil, ErrSyntax, ""},
		{"nstring NIL", "NIL)", nstr, nil, nil, ")"},
		{"nstring nil lower", "nil)", nstr, nil, nil, ")"},
		{"nstring quoted", `"NIL")`, nstr, "NIL", nil, ")"},
		{"nstring literal", "{1}\r\nx)", nstr, "x", nil, ")"},
		{"nstring atom", "NILS)", nstr, nil, ErrSyntax, ""},
		{"list wildcards", "a/%/*]x ", list, "a/%/*]x", nil, " "},
		{"list quoted", `"*" `, list, "*", nil, " "},
		{"list empty", "(", list, nil, ErrSyntax, ""},
	})
}

func TestNString(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader(`NIL ""`), nil, Limits{})
	if s, ok, err := d.NString(); s != "" || ok || err != nil {
		t.Errorf("NIL: %q %v %v", s, ok, err)
	}
	d.SP()
	if s, ok, err := d.NString(); s != "" || !ok || err != nil {
		t.Errorf(`"": %q %v %v`, s, ok, err)
	}
}

func TestSPAndFriends(t *testing.T) {
	t.Parallel()
	runDecodeCases(t, []decodeCase{
		{"SP", " x", func(d *Decoder) (any, error) { return nil, d.SP() }, nil, nil, "x"},
		{"SP missing", "x", func(d *Decoder) (any, error) { return nil, d.SP() }, nil, ErrSyntax, ""},
		{"SP two", "  ", func(d *Decoder) (any, error) { return nil, d.SP() }, nil, nil, " "},
		{"CRLF", "\r\nx", func(d *Decoder) (any, error) { return nil, d.CRLF() }, nil, nil, "x"},
		{"CRLF bare LF", "\nx", func(d *Decoder) (any, error) { return nil, d.CRLF() }, nil, ErrSyntax, ""},
		{"CRLF trailing", " \r\n", func(d *Decoder) (any, error) { return nil, d.CRLF() }, nil, ErrSyntax, ""},
		{"CRLF eof", "\r", func(d *Decoder) (any, error) { return nil, d.CRLF() }, nil, io.ErrUnexpectedEOF, ""},
		{"Peek", "\r\n", func(d *Decoder) (any, error) { return d.Peek() }, byte('\r'), nil, "\r\n"},
		{"Peek eof", "", func(d *Decoder) (any, error) { return d.Peek() }, nil, io.ErrUnexpectedEOF, ""},
		{"AtEnd", "\r\n", func(d *Decoder) (any, error) { return d.AtEnd(), nil }, true, nil, "\r\n"},
		{"AtEnd CR", "\rx", func(d *Decoder) (any, error) { return d.AtEnd(), nil }, false, nil, "\rx"},
		{"AtEnd SP", " \r\n", func(d *Decoder) (any, error) { return d.AtEnd(), nil }, false, nil, " \r\n"},
		{"Consume yes", "(x", func(d *Decoder) (any, error) { return d.Consume('('), nil }, true, nil, "x"},
		{"Consume no", "x", func(d *Decoder) (any, error) { return d.Consume('('), nil }, false, nil, "x"},
		{"Consume eof", "", func(d *Decoder) (any, error) { return d.Consume('('), nil }, false, nil, ""},
	})
}

func TestTag(t *testing.T) {
	t.Parallel()
	tag := str((*Decoder).Tag)
	runDecodeCases(t, []decodeCase{
		{"simple", "a001 NOOP\r\n", tag, "a001", nil, "NOOP\r\n"},
		{"bracket", "a]1 NOOP", tag, "a]1", nil, "NOOP"},
		{"plus", "a+1 NOOP", tag, nil, ErrSyntax, ""},
		{"star", "* NOOP", tag, nil, ErrSyntax, ""},
		{"empty line", "\r\n", tag, nil, ErrSyntax, ""},
		{"no SP", "a1\r\n", tag, nil, ErrSyntax, ""},
		{"clean eof", "", tag, nil, io.EOF, ""},
		{"eof in tag", "a1", tag, nil, io.ErrUnexpectedEOF, ""},
	})
	// The tag comes back with a missing-SP error, for the tagged BAD.
	d := NewDecoder(strings.NewReader("a1\r\n"), nil, Limits{})
	if tg, err := d.Tag(); tg != "a1" || !errors.Is(err, ErrSyntax) {
		t.Errorf("Tag = %q, %v", tg, err)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	flags := func(d *Decoder) (any, error) {
		out := []string{}
		err := d.List(func() error {
			f, err := d.Flag()
			out = append(out, f)
			return err
		})
		return out, err
	}
	nested := func(d *Decoder) (any, error) {
		var out []string
		var item func() error
		item = func() error {
			if b, _ := d.Peek(); b == '(' {
				out = append(out, "(")
				return d.List(item)
			}
			a, err := d.AString()
			out = append(out, a)
			return err
		}
		return out, item()
	}
	runDecodeCases(t, []decodeCase{
		{"flags", `(\Seen $Junk \*) `, flags, []string{`\Seen`, "$Junk", `\*`}, nil, " "},
		{"empty", "()\r\n", flags, []string{}, nil, "\r\n"},
		{"nested", "(a (b c) ())", nested, []string{"(", "a", "(", "b", "c", "("}, nil, ""},
		{"no paren", `\Seen`, flags, nil, ErrSyntax, ""},
		{"double SP", `(\Seen  \Draft)`, flags, nil, ErrSyntax, ""},
		{"leading SP", `( \Seen)`, flags, nil, ErrSyntax, ""},
		{"trailing SP", `(\Seen )`, flags, nil, ErrSyntax, ""},
		{"unclosed", "(a\r\n", flags, nil, ErrSyntax, ""},
	})
}

func TestSeqSetParse(t *testing.T) {
	t.Parallel()
	seq := func(d *Decoder) (any, error) { return d.SeqSet() }
	r := func(rs ...SeqRange) SeqSet { return SeqSet{Ranges: rs} }
	runDecodeCases(t, []decodeCase{
		{"one", "1 ", seq, r(SeqRange{1, 1}), nil, " "},
		{"star", "* ", seq, r(SeqRange{0, 0}), nil, " "},
		{"ranges", "1:3,5,7:* ", seq, r(SeqRange{1, 3}, SeqRange{5, 5}, SeqRange{7, 0}), nil, " "},
		{"reversed", "4:2\r\n", seq, r(SeqRange{4, 2}), nil, "\r\n"},
		{"star first", "*:1)", seq, r(SeqRange{0, 1}), nil, ")"},
		{"max", "4294967295 ", seq, r(SeqRange{4294967295, 4294967295}), nil, " "},
		{"dollar", "$ ", seq, SeqSet{Dollar: true}, nil, " "},
		{"dollar comma", "$,1", seq, SeqSet{Dollar: true}, nil, ",1"},
		{"zero", "0", seq, nil, ErrSyntax, ""},
		{"zero in range", "1:0", seq, nil, ErrSyntax, ""},
		{"leading zero", "01", seq, nil, ErrSyntax, ""},
		{"trailing comma", "1, ", seq, nil, ErrSyntax, ""},
		{"trailing colon", "1: ", seq, nil, ErrSyntax, ""},
		{"overflow", "4294967296", seq, nil, ErrSyntax, ""},
		{"empty", " ", seq, nil, ErrSyntax, ""},
	})
}

func TestDates(t *testing.T) {
	t.Parallel()
	dt := func(d *Decoder) (any, error) {
		tm, err := d.DateTime()
		return tm.Format(time.RFC3339), err
	}
	date := func(d *Decoder) (any, error) {
		tm, err := d.Date()
		return tm.Format(time.RFC3339), err
	}
	runDecodeCases(t, []decodeCase{
		{"datetime", `"17-Jul-1996 02:44:25 -0700" `, dt, "1996-07-17T02:44:25-07:00", nil, " "},
		{"datetime fixed day", `" 7-jul-1996 02:44:25 +0000"`, dt, "1996-07-07T02:44:25Z", nil, ""},
		{"datetime upper month", `"01-FEB-2024 23:59:60 +0130"`, dt, "2024-02-02T00:00:00+01:30", nil, ""},
		{"datetime leap day", `"29-Feb-2024 00:00:00 +0000"`, dt, "2024-02-29T00:00:00Z", nil, ""},
		{"datetime not leap", `"29-Feb-2023 00:00:00 +0000"`, dt, nil, ErrSyntax, ""},
		{"datetime unquoted", `17-Jul-1996 02:44:25 -0700`, dt, nil, ErrSyntax, ""},
		{"datetime one digit day", `"7-Jul-1996 02:44:25 -0700"`, dt, nil, ErrSyntax, ""},
		{"datetime bad month", `"17-Jux-1996 02:44:25 -0700"`, dt, nil, ErrSyntax, ""},
		{"datetime hour", `"17-Jul-1996 24:44:25 -0700"`, dt, nil, ErrSyntax, ""},
		{"datetime zone", `"17-Jul-1996 02:44:25 0700"`, dt, nil, ErrSyntax, ""},
		{"datetime zone minutes", `"17-Jul-1996 02:44:25 +0090"`, dt, nil, ErrSyntax, ""},
		{"datetime short year", `"17-Jul-96 02:44:25 -0700"`, dt, nil, ErrSyntax, ""},
		{"datetime day 0", `"00-Jul-1996 02:44:25 -0700"`, dt, nil, ErrSyntax, ""},
		{"date", "1-Feb-1994 ", date, "1994-02-01T00:00:00Z", nil, " "},
		{"date two digits", "31-dec-1999)", date, "1999-12-31T00:00:00Z", nil, ")"},
		{"date quoted", `"1-Feb-1994"`, date, "1994-02-01T00:00:00Z", nil, ""},
		{"date unclosed quote", `"1-Feb-1994 `, date, nil, ErrSyntax, ""},
		{"date three digits", "001-Feb-1994", date, nil, ErrSyntax, ""},
		{"date bad day", "31-Apr-1994", date, nil, ErrSyntax, ""},
		{"date iso", "1994-02-01", date, nil, ErrSyntax, ""},
	})
}

func TestLine(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("dGVzdA==\r\n*\r\n\r\nDONE\r\na1 NOOP\r\n"), nil, Limits{})
	for _, want := range []string{"dGVzdA==", "*", "", "DONE"} {
		if got, err := d.Line(); got != want || err != nil {
			t.Fatalf("Line = %q, %v; want %q", got, err, want)
		}
	}
	if tag, err := d.Tag(); tag != "a1" || err != nil {
		t.Fatalf("Tag = %q, %v", tag, err)
	}
}

// A whole command, as a session drives it.
func TestCommand(t *testing.T) {
	t.Parallel()
	in := "A142 uid STORE 1:3,7:* +FLAGS.SILENT (\\Deleted $Junk)\r\nA143 LOGOUT\r\n"
	d := NewDecoder(strings.NewReader(in), nil, Limits{})
	tag, err := d.Tag()
	must(t, err)
	name, err := d.Atom()
	must(t, err)
	if tag != "A142" || strings.ToUpper(name) != "UID" {
		t.Fatalf("tag %q name %q", tag, name)
	}
	must(t, d.SP())
	_, err = d.Atom()
	must(t, err)
	must(t, d.SP())
	set, err := d.SeqSet()
	must(t, err)
	must(t, d.SP())
	item, err := d.Atom()
	must(t, err)
	must(t, d.SP())
	var flags []string
	must(t, d.List(func() error {
		f, err := d.Flag()
		flags = append(flags, f)
		return err
	}))
	if !d.AtEnd() {
		t.Fatal("not at end")
	}
	must(t, d.CRLF())
	if set.String() != "1:3,7:*" || item != "+FLAGS.SILENT" || !reflect.DeepEqual(flags, []string{`\Deleted`, "$Junk"}) {
		t.Errorf("set %v item %q flags %q", set, item, flags)
	}
	tag, err = d.Tag()
	must(t, err)
	name, err = d.Atom()
	must(t, err)
	must(t, d.CRLF())
	if tag != "A143" || name != "LOGOUT" {
		t.Errorf("tag %q name %q", tag, name)
	}
	if _, err := d.Tag(); err != io.EOF {
		t.Errorf("Tag at EOF: %v", err)
	}
}

func TestLineTooLong(t *testing.T) {
	t.Parallel()
	long := "a1 FOO " + strings.Repeat("x", 100) + "\r\na2 NOOP\r\n"
	d := NewDecoder(strings.NewReader(long), nil, Limits{MaxLine: 50})
	_, err := d.Tag()
	must(t, err)
	d.Atom()
	d.SP()
	_, err = d.AString()
	if !errors.Is(err, ErrLineTooLong) || IsFatal(err) {
		t.Fatalf("AString: %v", err)
	}
	must(t, d.DiscardLine())
	if tag, err := d.Tag(); tag != "a2" || err != nil {
		t.Fatalf("next Tag = %q, %v", tag, err)
	}

	// The limit counts every byte of the command outside literals.
	d = NewDecoder(strings.NewReader("a1 X {3}\r\nabc "+strings.Repeat("y", 40)+"\r\n"), nil, Limits{MaxLine: 30})
	d.Tag()
	d.Atom()
	d.SP()
	if _, err := d.AString(); err != nil {
		t.Fatal(err)
	}
	d.SP()
	if _, err := d.Atom(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("after literal: %v", err)
	}
}

// Memory stays bounded by MaxLine whatever the client sends.
func TestNoUnboundedRead(t *testing.T) {
	t.Parallel()
	d := NewDecoder(io.MultiReader(strings.NewReader("a1 "), infinite('x')), nil, Limits{MaxLine: 1 << 10})
	d.Tag()
	if _, err := d.Atom(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Atom: %v", err)
	}
	d = NewDecoder(io.MultiReader(strings.NewReader(`a1 "`), infinite('x')), nil, Limits{MaxLine: 1 << 10})
	d.Tag()
	if _, err := d.Quoted(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Quoted: %v", err)
	}
}

type infinite byte

func (b infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestIsFatal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{ErrSyntax, false},
		{ErrLineTooLong, false},
		{ErrLiteralTooLarge, false},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{errors.New("write: broken pipe"), true},
		{errors.Join(ErrLiteralTooLarge, ErrFatal), true},
	} {
		if got := IsFatal(tc.err); got != tc.want {
			t.Errorf("IsFatal(%v) = %v", tc.err, got)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
