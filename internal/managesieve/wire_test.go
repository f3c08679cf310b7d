package managesieve

import (
	"bufio"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParser(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		args []arg
		err  string // prefix of the error
	}{
		{in: "noop\r\n", name: "NOOP"},
		{in: "NOOP \"a \\\"b\\\" \\\\\"\r\n", name: "NOOP", args: []arg{{s: `a "b" \`}}},
		{in: "PUTSCRIPT \"x\" {5+}\r\nkeep;\r\n", name: "PUTSCRIPT", args: []arg{{s: "x"}, {s: "keep;"}}},
		{in: "RENAMESCRIPT {1+}\r\na {2}\r\nbc\r\n", name: "RENAMESCRIPT", args: []arg{{s: "a"}, {s: "bc"}}},
		{in: "HAVESPACE \"x\" 4294967295\n", name: "HAVESPACE", args: []arg{{s: "x"}, {s: "4294967295", atom: true}}},
		{in: "PUTSCRIPT \"x\" {0+}\r\n\r\n", name: "PUTSCRIPT", args: []arg{{s: "x"}, {s: ""}}},
		{in: "\r\n", err: "Empty command"},
		{in: "NOOP \"a\r\n", err: "Unterminated"},
		{in: "NOOP \"a\"b\r\n", err: "Syntax error after"},
		{in: "NOOP \"\\n\"\r\n", err: "Bad character"},
		{in: "NOOP \"\xff\"\r\n", err: "Quoted string is not UTF-8"},
		{in: "NOOP \"" + strings.Repeat("a", 1025) + "\"\r\n", err: "Quoted string over 1024"},
		{in: "NOOP {x}\r\n", err: "Bad literal"},
		{in: "NOOP {5+} x\r\n", err: "Bad literal"},
		{in: "NOOP {11+}\r\n01234567890\r\n", err: "Literal over 10"},
		{in: "NOOP a{\r\n", err: "Syntax error"},
		{in: "NOOP {4294967296+}\r\n", err: "Bad literal"},
		{in: strings.Repeat("a", 2001) + "\r\n", err: "Line too long"},
	} {
		var synced int
		p := parser{r: bufio.NewReader(strings.NewReader(tc.in)), maxLine: 2000, maxLiteral: 10,
			onSync: func() error { synced++; return nil }}
		name, args, err := p.command()
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || name != tc.name || !slices.Equal(args, tc.args) {
			t.Errorf("%q: %q %v %v, want %q %v", tc.in, name, args, err, tc.name, tc.args)
		}
		if want := strings.Count(tc.in, "}\r\n") - strings.Count(tc.in, "+}"); synced != want {
			t.Errorf("%q: %d continuations, want %d", tc.in, synced, want)
		}
	}
}

// After a refused command the parser reads the next one from its start,
// also when the refused one ended with a literal it did not keep.
func TestParserSkipsRefused(t *testing.T) {
	in := "NOOP \"unterminated {3+}\r\nabc\r\nPUTSCRIPT \"x\" {20+}\r\n01234567890123456789 {2+}\r\nab\r\nNOOP \"ok\"\r\n"
	p := parser{r: bufio.NewReader(strings.NewReader(in)), maxLine: 100, maxLiteral: 10}
	var ce *commandError
	for i := range 2 {
		if _, _, err := p.command(); !errors.As(err, &ce) {
			t.Fatalf("command %d: %v, want a refusal", i+1, err)
		}
	}
	if ce.code != "QUOTA/MAXSIZE" {
		t.Errorf("a literal over the limit: code %q", ce.code)
	}
	if name, args, err := p.command(); err != nil || name != "NOOP" || len(args) != 1 || args[0].s != "ok" {
		t.Fatalf("the command after: %q %v %v", name, args, err)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                   `"plain"`,
		`a"b\c`:                   `"a\"b\\c"`,
		"two\r\nlines":            "{10}\r\ntwo\r\nlines",
		strings.Repeat("a", 1025): "{1025}\r\n" + strings.Repeat("a", 1025),
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %q, want %q", in, got, want)
		}
	}
}
