package imapwire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

var fuzzLimits = Limits{MaxLine: 512, MaxLiteral: 4096, MaxInline: 64, MaxInlineTotal: 128, MaxLiterals: 16}

// FuzzDecoder drives a generic command parser, as a session would, over
// arbitrary client input: it must not panic, must not send a continuation
// it was not asked for, must hand out exactly the announced literal bytes,
// and must always either make progress or stop with a fatal error.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		"a1 NOOP\r\n",
		"a1 LOGIN {5}\r\nalice \"pa\\\"ss\"\r\n",
		"a2 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5+}\r\nhello\r\n",
		"a3 UID FETCH 1:3,5,7:* (FLAGS BODY.PEEK[HEADER.FIELDS (From)])\r\n",
		"a4 APPEND INBOX ~{3}\r\n\x00\x01\x02\r\n",
		"a5 SEARCH $ SINCE 1-Feb-1994\r\n",
		"a6 LIST \"\" %/*\r\n",
		"a7 FOO {3+}\r\n\r\n\r {99999999999999999999}\r\n",
		"DATE \"17-Jul-1996 02:44:25 -0700\" 1-Feb-1994\r\nN1 N NIL \"x\" 18446744073709551615\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		st := &fuzzState{t: t}
		d := NewDecoder(bytes.NewReader(in), st.cont, fuzzLimits)
		st.d = d
		for range len(in) + 1 {
			err := st.command()
			if err == io.EOF {
				return
			}
			if err != nil {
				if IsFatal(err) {
					return
				}
				if err := d.DiscardLine(); err != nil {
					if !IsFatal(err) {
						t.Fatalf("DiscardLine: non-fatal error %v", err)
					}
					return
				}
			}
		}
		t.Fatalf("no progress")
	})
}

type fuzzState struct {
	t       *testing.T
	d       *Decoder
	lastLit int // d.nlit at the last continuation request in the command
	mode    byte
}

// cont checks that a continuation request is sent only for a synchronizing
// literal within the limits, and once.
func (st *fuzzState) cont() error {
	d := st.d
	if d.pend.NonSync || d.pend.Size > fuzzLimits.MaxLiteral {
		st.t.Fatalf("continuation request for %+v", d.pend)
	}
	if d.nlit == st.lastLit {
		st.t.Fatalf("second continuation request for literal %d", d.nlit)
	}
	st.lastLit = d.nlit
	return nil
}

func (st *fuzzState) command() error {
	d := st.d
	st.lastLit = 0
	if _, err := d.Tag(); err != nil {
		return err
	}
	name, err := d.Atom()
	if err != nil {
		return err
	}
	st.mode = name[0] | 0x20
	for !d.AtEnd() {
		if err := d.SP(); err != nil {
			return err
		}
		if err := st.arg(0); err != nil {
			return err
		}
	}
	return d.CRLF()
}

func (st *fuzzState) arg(depth int) error {
	d := st.d
	b, err := d.Peek()
	if err != nil {
		return err
	}
	switch {
	case b == '(':
		if depth > 10 {
			return fmt.Errorf("%w: nesting", ErrSyntax)
		}
		return d.List(func() error { return st.arg(depth + 1) })
	case b == '~' || b == '{' && st.mode != 'l':
		return st.literal()
	case st.mode == 'd':
		if b == '"' {
			_, err = d.DateTime()
		} else {
			_, err = d.Date()
		}
	case st.mode == 'n':
		if '0' <= b && b <= '9' {
			_, err = d.Number64()
		} else {
			_, _, err = d.NString()
		}
	case st.mode == 'l':
		var s string
		s, err = d.ListMailbox()
		st.checkLen(s)
	case '0' <= b && b <= '9' || b == '*' || b == '$':
		_, err = d.SeqSet()
	case b == '\\':
		_, err = d.Flag()
	default:
		var s string
		s, err = d.AString()
		st.checkLen(s)
	}
	return err
}

func (st *fuzzState) checkLen(s string) {
	if int64(len(s)) > max(int64(fuzzLimits.MaxLine), fuzzLimits.MaxInline) {
		st.t.Fatalf("string of %d bytes read", len(s))
	}
}

func (st *fuzzState) literal() error {
	d := st.d
	info, err := d.Literal()
	if err != nil {
		return err
	}
	if info.Size > 1000 && info.Size <= fuzzLimits.MaxLiteral {
		return d.Reject()
	}
	r, err := d.Accept()
	if err != nil {
		if info.Size <= fuzzLimits.MaxLiteral {
			st.t.Fatalf("Accept(%+v): %v", info, err)
		}
		return err
	}
	n, err := io.Copy(io.Discard, r)
	if err == nil && n != info.Size {
		st.t.Fatalf("literal of %d bytes read as %d", info.Size, n)
	}
	if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, io.ErrUnexpectedEOF) {
		st.t.Fatalf("literal: %v", err)
	}
	return err
}
