package imapwire

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// client plays the client side: it hands out its parts in order, and a
// part with afterCont only once the decoder has sent a continuation
// request. Reading such a part too early is what would hang a real
// connection, so it fails the read instead.
type client struct {
	parts []part
	conts int
}

type part struct {
	data      string
	afterCont int // continuation requests the client waits for first
}

func (c *client) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	if c.conts < c.parts[0].afterCont {
		return 0, fmt.Errorf("decoder read %q before continuation request %d", c.parts[0].data, c.parts[0].afterCont)
	}
	n := copy(p, c.parts[0].data)
	c.parts[0].data = c.parts[0].data[n:]
	if c.parts[0].data == "" {
		c.parts = c.parts[1:]
	}
	return n, nil
}

func (c *client) cont() error {
	c.conts++
	return nil
}

func newClient(lim Limits, parts ...part) (*client, *Decoder) {
	c := &client{parts: parts}
	return c, NewDecoder(c, c.cont, lim)
}

// start reads "tag NAME SP".
func start(t *testing.T, d *Decoder) {
	t.Helper()
	_, err := d.Tag()
	must(t, err)
	_, err = d.Atom()
	must(t, err)
	must(t, d.SP())
}

func nextTag(t *testing.T, d *Decoder, want string) {
	t.Helper()
	if tag, err := d.Tag(); tag != want || err != nil {
		t.Fatalf("next Tag = %q, %v; want %q", tag, err, want)
	}
}

func TestLiteralSyncAccepted(t *testing.T) {
	t.Parallel()
	c, d := newClient(Limits{},
		part{"a1 APPEND INBOX {7}\r\n", 0},
		part{"he\r\nllo\r\n", 1},
	)
	start(t, d)
	_, err := d.AString()
	must(t, err)
	must(t, d.SP())
	info, err := d.Literal()
	must(t, err)
	if info != (LiteralInfo{Size: 7}) || c.conts != 0 {
		t.Fatalf("info %+v, conts %d", info, c.conts)
	}
	r, err := d.Accept()
	must(t, err)
	data, err := io.ReadAll(r)
	must(t, err)
	if string(data) != "he\r\nllo" {
		t.Errorf("data %q", data)
	}
	must(t, d.CRLF())
	if c.conts != 1 {
		t.Errorf("continuations: %d, want 1", c.conts)
	}
}

func TestLiteralSyncRejected(t *testing.T) {
	t.Parallel()
	c, d := newClient(Limits{},
		part{"a1 APPEND INBOX {7}\r\n", 0},
		part{"a2 NOOP\r\n", 0}, // sent after the client reads the tagged NO
	)
	start(t, d)
	d.AString()
	d.SP()
	if _, err := d.Literal(); err != nil {
		t.Fatal(err)
	}
	must(t, d.Reject())
	if _, err := d.Atom(); !errors.Is(err, ErrSyntax) {
		t.Errorf("Atom after Reject: %v", err)
	}
	must(t, d.DiscardLine())
	nextTag(t, d, "a2")
	if c.conts != 0 {
		t.Errorf("continuations: %d, want 0", c.conts)
	}
}

func TestLiteralNonSync(t *testing.T) {
	t.Parallel()
	for _, accept := range []bool{true, false} {
		t.Run(fmt.Sprint("accept=", accept), func(t *testing.T) {
			t.Parallel()
			c, d := newClient(Limits{}, part{"a1 APPEND INBOX {5+}\r\nhe\r\nl\r\na2 NOOP\r\n", 0})
			start(t, d)
			d.AString()
			d.SP()
			info, err := d.Literal()
			must(t, err)
			if info != (LiteralInfo{Size: 5, NonSync: true}) {
				t.Fatalf("info %+v", info)
			}
			if accept {
				r, err := d.Accept()
				must(t, err)
				data, _ := io.ReadAll(r)
				if string(data) != "he\r\nl" {
					t.Errorf("data %q", data)
				}
			} else {
				must(t, d.Reject())
			}
			must(t, d.CRLF())
			nextTag(t, d, "a2")
			if c.conts != 0 {
				t.Errorf("continuations: %d, want 0", c.conts)
			}
		})
	}
}

func TestLiteralBinary(t *testing.T) {
	t.Parallel()
	c, d := newClient(Limits{},
		part{"a1 APPEND INBOX ~{4}\r\n", 0},
		part{"\x00\x01\r\n\r\n", 1},
	)
	start(t, d)
	d.AString()
	d.SP()
	info, err := d.Literal()
	must(t, err)
	if info != (LiteralInfo{Size: 4, Binary: true}) {
		t.Fatalf("info %+v", info)
	}
	r, err := d.Accept()
	must(t, err)
	data, err := io.ReadAll(r)
	must(t, err)
	if string(data) != "\x00\x01\r\n" || c.conts != 1 {
		t.Errorf("data %q conts %d", data, c.conts)
	}
	must(t, d.CRLF())

	_, d = newClient(Limits{}, part{"a1 APPEND INBOX ~{3+}\r\nabc\r\n", 0})
	start(t, d)
	d.AString()
	d.SP()
	if info, err := d.Literal(); info != (LiteralInfo{Size: 3, NonSync: true, Binary: true}) || err != nil {
		t.Fatalf("~{3+}: %+v %v", info, err)
	}
}

func TestLiteralNUL(t *testing.T) {
	t.Parallel()
	_, d := newClient(Limits{}, part{"a1 APPEND INBOX {5+}\r\nab\x00cd\r\na2 NOOP\r\n", 0})
	start(t, d)
	d.AString()
	d.SP()
	d.Literal()
	r, err := d.Accept()
	must(t, err)
	data, err := io.ReadAll(r)
	if !errors.Is(err, ErrSyntax) || IsFatal(err) || string(data) != "ab" {
		t.Fatalf("ReadAll = %q, %v", data, err)
	}
	must(t, d.DiscardLine())
	nextTag(t, d, "a2")
}

// An accepted literal the handler did not finish is drained by the next call.
func TestLiteralPartlyRead(t *testing.T) {
	t.Parallel()
	_, d := newClient(Limits{}, part{"a1 X {5+}\r\nhello {2+}\r\nab\r\n", 0})
	start(t, d)
	d.Literal()
	r, _ := d.Accept()
	buf := make([]byte, 2)
	io.ReadFull(r, buf)
	must(t, d.SP())
	s, err := d.String()
	if s != "ab" || err != nil {
		t.Fatalf("String = %q, %v", s, err)
	}
	if n, err := r.Read(buf); n != 0 || err == nil {
		t.Errorf("stale reader: %d, %v", n, err)
	}
	must(t, d.CRLF())
}

func TestLiteralTooLarge(t *testing.T) {
	t.Parallel()
	t.Run("sync", func(t *testing.T) {
		t.Parallel()
		c, d := newClient(Limits{MaxLiteral: 4}, part{"a1 APPEND INBOX {5}\r\n", 0}, part{"a2 NOOP\r\n", 0})
		start(t, d)
		d.AString()
		d.SP()
		d.Literal()
		if _, err := d.Accept(); !errors.Is(err, ErrLiteralTooLarge) || IsFatal(err) {
			t.Fatalf("Accept: %v", err)
		}
		must(t, d.DiscardLine())
		nextTag(t, d, "a2")
		if c.conts != 0 {
			t.Errorf("continuations: %d", c.conts)
		}
	})
	t.Run("non-sync", func(t *testing.T) {
		t.Parallel()
		_, d := newClient(Limits{MaxLiteral: 4}, part{"a1 APPEND INBOX {5+}\r\nhello\r\n", 0})
		start(t, d)
		d.AString()
		d.SP()
		d.Literal()
		_, err := d.Accept()
		if !errors.Is(err, ErrLiteralTooLarge) || !IsFatal(err) {
			t.Fatalf("Accept: %v", err)
		}
		if err := d.DiscardLine(); !IsFatal(err) {
			t.Errorf("DiscardLine after fatal: %v", err)
		}
	})
	t.Run("unreadable size", func(t *testing.T) {
		t.Parallel()
		_, d := newClient(Limits{}, part{"a1 X {99999999999999999999+}\r\n", 0})
		start(t, d)
		if _, err := d.Literal(); !IsFatal(err) {
			t.Fatalf("Literal: %v", err)
		}
	})
	t.Run("inline sync", func(t *testing.T) {
		t.Parallel()
		c, d := newClient(Limits{MaxInline: 4}, part{"a1 LOGIN {5}\r\n", 0}, part{"a2 NOOP\r\n", 0})
		start(t, d)
		if _, err := d.AString(); !errors.Is(err, ErrLiteralTooLarge) || IsFatal(err) {
			t.Fatalf("AString: %v", err)
		}
		must(t, d.DiscardLine())
		nextTag(t, d, "a2")
		if c.conts != 0 {
			t.Errorf("continuations: %d", c.conts)
		}
	})
	t.Run("inline non-sync", func(t *testing.T) {
		t.Parallel()
		_, d := newClient(Limits{MaxInline: 4}, part{"a1 LOGIN {5+}\r\nhello {1+}\r\nx\r\na2 NOOP\r\n", 0})
		start(t, d)
		if _, err := d.AString(); !errors.Is(err, ErrLiteralTooLarge) || IsFatal(err) {
			t.Fatalf("AString: %v", err)
		}
		must(t, d.DiscardLine())
		nextTag(t, d, "a2")
	})
	t.Run("inline total", func(t *testing.T) {
		t.Parallel()
		_, d := newClient(Limits{MaxInline: 4, MaxInlineTotal: 5}, part{"a1 X ({3+}\r\nabc {3+}\r\ndef)\r\na2 NOOP\r\n", 0})
		start(t, d)
		var got []string
		err := d.List(func() error {
			s, err := d.AString()
			got = append(got, s)
			return err
		})
		if !errors.Is(err, ErrLiteralTooLarge) || got[0] != "abc" {
			t.Fatalf("List: %q %v", got, err)
		}
		must(t, d.DiscardLine())
		nextTag(t, d, "a2")
	})
}

func TestTooManyLiterals(t *testing.T) {
	t.Parallel()
	in := "a1 X {1+}\r\na {1+}\r\nb {1}\r\n"
	c, d := newClient(Limits{MaxLiterals: 2}, part{in, 0}, part{"a2 NOOP\r\n", 0})
	start(t, d)
	var err error
	for i := 0; err == nil; i++ {
		if i > 0 {
			must(t, d.SP())
		}
		_, err = d.String()
	}
	if !errors.Is(err, ErrLineTooLong) || IsFatal(err) {
		t.Fatalf("third literal: %v", err)
	}
	must(t, d.DiscardLine())
	nextTag(t, d, "a2")
	if c.conts != 0 {
		t.Errorf("continuations: %d", c.conts) // {1+} needs none; {1} was refused
	}

	// Past the limit, DiscardLine gives up on the connection.
	_, d = newClient(Limits{MaxLiterals: 2}, part{"a1 X {1+}\r\na {1+}\r\nb {1+}\r\nc\r\n", 0})
	start(t, d)
	if err := d.DiscardLine(); !IsFatal(err) {
		t.Fatalf("DiscardLine: %v", err)
	}
}

func TestDiscardLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		in    string
		conts int
		lim   Limits
	}{
		{"plain", "a1 FOO bar baz\r\n", 0, Limits{}},
		{"non-sync with CRLF", "a1 FOO bar {7+}\r\nab\r\ncd\r baz\r\n", 0, Limits{}},
		{"two non-sync", "a1 FOO {2+}\r\n\r\n {3+}\r\n{1}\r\n", 0, Limits{}},
		{"binary non-sync", "a1 FOO ~{2+}\r\n\x00\n\r\n", 0, Limits{}},
		{"ends at sync", "a1 FOO bar {7}\r\n", 0, Limits{}},
		{"non-sync then sync", "a1 FOO {2+}\r\nxy {3}\r\n", 0, Limits{}},
		{"brace not literal", "a1 FOO {7} x\r\n", 0, Limits{}},
		{"quoted brace", "a1 FOO \"{7+}\"\r\n", 0, Limits{}},
		{"bare LF", "a1 FOO\n", 0, Limits{}},
		{"long", "a1 FOO " + strings.Repeat("z", 10000) + " {3+}\r\nabc\r\n", 0, Limits{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, d := newClient(tc.lim, part{tc.in, 0}, part{"a2 NOOP\r\n", 1})
			c.conts = 1 // the client may send a2 whenever the decoder looks
			_, err := d.Tag()
			must(t, err)
			if _, err := d.Atom(); err != nil {
				t.Fatal(err)
			}
			must(t, d.DiscardLine())
			must(t, d.DiscardLine()) // idempotent
			nextTag(t, d, "a2")
			if c.conts != 1+tc.conts {
				t.Errorf("continuations sent: %d", c.conts-1)
			}
		})
	}
}

// DiscardLine must not read past the end of the command: the client
// has not sent anything more.
func TestDiscardLineStopsAtSync(t *testing.T) {
	t.Parallel()
	_, d := newClient(Limits{}, part{"a1 FOO {2+}\r\nxy {3}\r\n", 0}, part{"a2 NOOP\r\n", 1})
	start(t, d)
	must(t, d.DiscardLine())
}

// A line cut by MaxLine inside a literal announcement: DiscardLine still
// sees the literal and skips its data instead of running it as a command.
func TestDiscardLineAfterCutLiteral(t *testing.T) {
	t.Parallel()
	_, d := newClient(Limits{MaxLine: 7}, part{"a1 X {10+}\r\na3 LOGOUT\r\na2 NOOP\r\n", 0})
	start(t, d)
	if _, err := d.Literal(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Literal: %v", err)
	}
	must(t, d.DiscardLine())
	nextTag(t, d, "a2")
}

// Tag discards what a handler left of its command.
func TestTagDiscardsUnfinished(t *testing.T) {
	t.Parallel()
	_, d := newClient(Limits{}, part{"a1 FOO {3+}\r\nabc\r\na2 NOOP\r\n", 0})
	start(t, d)
	nextTag(t, d, "a2")
	// A pending literal too.
	_, d = newClient(Limits{}, part{"a1 FOO {3+}\r\nabc\r\na2 NOOP\r\n", 0})
	start(t, d)
	d.Literal()
	nextTag(t, d, "a2")
}

func TestLiteralErrors(t *testing.T) {
	t.Parallel()
	t.Run("eof in data", func(t *testing.T) {
		t.Parallel()
		_, d := newClient(Limits{}, part{"a1 X {5+}\r\nab", 0})
		start(t, d)
		d.Literal()
		r, _ := d.Accept()
		if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) || !IsFatal(err) {
			t.Fatalf("ReadAll: %v", err)
		}
		if err := d.CRLF(); !IsFatal(err) {
			t.Errorf("CRLF after EOF: %v", err)
		}
	})
	t.Run("cont fails", func(t *testing.T) {
		t.Parallel()
		broken := errors.New("broken pipe")
		d := NewDecoder(strings.NewReader("a1 X {5}\r\n"), func() error { return broken }, Limits{})
		start(t, d)
		d.Literal()
		if _, err := d.Accept(); !errors.Is(err, broken) || !IsFatal(err) {
			t.Fatalf("Accept: %v", err)
		}
	})
	t.Run("no pending", func(t *testing.T) {
		t.Parallel()
		d := NewDecoder(strings.NewReader("a1 X\r\n"), nil, Limits{})
		if _, err := d.Accept(); err == nil {
			t.Error("Accept without Literal succeeded")
		}
		if err := d.Reject(); err == nil {
			t.Error("Reject without Literal succeeded")
		}
	})
	t.Run("pending", func(t *testing.T) {
		t.Parallel()
		d := NewDecoder(strings.NewReader("a1 X {1+}\r\nx\r\n"), nil, Limits{})
		start(t, d)
		d.Literal()
		if err := d.CRLF(); err == nil {
			t.Error("CRLF with a pending literal succeeded")
		}
	})
	for _, in := range []string{"{}\r\n", "{5 }\r\n", "{5}x", "{+}\r\n", "{5}\n", "~5\r\n", "x"} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			d := NewDecoder(strings.NewReader(in+"  "), nil, Limits{})
			if _, err := d.Literal(); !errors.Is(err, ErrSyntax) || IsFatal(err) {
				t.Errorf("Literal(%q): %v", in, err)
			}
		})
	}
}

// A literal size DiscardLine cannot read leaves the connection unusable:
// the client may be about to send that many bytes.
func TestDiscardLineUnreadableSize(t *testing.T) {
	t.Parallel()
	for _, size := range []string{"99999999999999999999", strings.Repeat("1", 40)} {
		_, d := newClient(Limits{}, part{"a1 FOO {" + size + "+}\r\nxx\r\n", 0})
		start(t, d)
		if err := d.DiscardLine(); !IsFatal(err) {
			t.Errorf("size %s: %v", size, err)
		}
	}
	// Leading zeros are fine while the size is in view.
	_, d := newClient(Limits{}, part{"a1 FOO {0002+}\r\nxx\r\na2 NOOP\r\n", 0})
	start(t, d)
	must(t, d.DiscardLine())
	nextTag(t, d, "a2")
}

func TestLimitsDefaults(t *testing.T) {
	t.Parallel()
	got := NewDecoder(strings.NewReader(""), nil, Limits{MaxLiteral: 10}).Limits()
	want := Limits{DefaultMaxLine, 10, DefaultMaxInline, DefaultMaxInlineTotal, DefaultMaxLiterals}
	if got != want {
		t.Errorf("Limits() = %+v, want %+v", got, want)
	}
}
