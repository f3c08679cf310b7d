package message

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// crlf turns the LF line breaks of a test literal into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func mustParse(t *testing.T, raw string) *Parsed {
	t.Helper()
	p, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := checkParsed(p, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	return p
}

// describe renders a part tree one part per line, indented by depth, with
// each body cut out of raw by its offsets: the golden form of these tests.
func describe(raw string, p *Part) string {
	var b strings.Builder
	describeTo(&b, raw, p, "")
	return b.String()
}

func describeTo(b *strings.Builder, raw string, p *Part, indent string) {
	fmt.Fprintf(b, "%s%s/%s%s %s", indent, p.Type, p.Subtype, params(p.Params), p.Encoding)
	if p.Disposition != "" {
		fmt.Fprintf(b, " %s%s", p.Disposition, params(p.DispositionParams))
	}
	if p.Lines > 0 {
		fmt.Fprintf(b, " lines=%d", p.Lines)
	}
	if len(p.Parts) == 0 && p.Message == nil {
		fmt.Fprintf(b, " body=%q", raw[p.BodyOffset:p.EndOffset])
	}
	if p.Envelope != nil {
		fmt.Fprintf(b, " envelope-subject=%q", p.Envelope.Subject)
	}
	b.WriteString("\n")
	for _, c := range p.Parts {
		describeTo(b, raw, c, indent+"  ")
	}
	if p.Message != nil {
		describeTo(b, raw, p.Message, indent+"  ")
	}
}

func params(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf(" %s=%q", k, v))
	}
	slices.Sort(out)
	return strings.Join(out, "")
}

// checkParsed verifies the invariants every result must have, whatever the
// input: offsets inside the message and ordered, sizes consistent.
func checkParsed(p *Parsed, raw []byte) error {
	if p.Size != int64(len(raw)) {
		return fmt.Errorf("Size %d, input has %d bytes", p.Size, len(raw))
	}
	if p.Body == nil || p.Body.HeaderOffset != 0 || p.HeaderSize != p.Body.BodyOffset {
		return fmt.Errorf("bad top-level part %+v (HeaderSize %d)", p.Body, p.HeaderSize)
	}
	if p.Body.EndOffset != p.Size {
		return fmt.Errorf("top-level part ends at %d, not %d", p.Body.EndOffset, p.Size)
	}
	return checkPart(p.Body, 0, p.Size)
}

func checkPart(p *Part, lo, hi int64) error {
	if !(lo <= p.HeaderOffset && p.HeaderOffset <= p.BodyOffset && p.BodyOffset <= p.EndOffset && p.EndOffset <= hi) {
		return fmt.Errorf("%s/%s offsets %d %d %d outside [%d,%d]", p.Type, p.Subtype, p.HeaderOffset, p.BodyOffset, p.EndOffset, lo, hi)
	}
	if p.Size != p.EndOffset-p.BodyOffset || p.Lines < 0 || p.Lines > p.Size {
		return fmt.Errorf("%s/%s size %d lines %d for body [%d,%d)", p.Type, p.Subtype, p.Size, p.Lines, p.BodyOffset, p.EndOffset)
	}
	if p.Type == "multipart" && len(p.Parts) == 0 {
		return fmt.Errorf("multipart without parts")
	}
	next := p.BodyOffset
	for _, c := range p.Parts {
		if err := checkPart(c, next, p.EndOffset); err != nil {
			return err
		}
		next = c.EndOffset
	}
	if p.Message != nil {
		if p.Message.HeaderOffset != p.BodyOffset || p.Message.EndOffset != p.EndOffset {
			return fmt.Errorf("message/rfc822 body [%d,%d) but message [%d,%d)", p.BodyOffset, p.EndOffset, p.Message.HeaderOffset, p.Message.EndOffset)
		}
		return checkPart(p.Message, p.BodyOffset, p.EndOffset)
	}
	return nil
}

func TestStructure(t *testing.T) {
	t.Parallel()
	for _, tc := range structureCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tc.raw)
			if got := describe(tc.raw, p.Body); got != tc.want {
				t.Errorf("structure:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

var structureCases = []struct {
	name, raw, want string
}{
	{
		name: "simple text",
		raw: crlf(`From: Alice <alice@example.org>
Subject: Hello
Content-Type: text/plain; charset="UTF-8"

Hello Bob.
Bye.
`),
		want: `text/plain charset="UTF-8" 7BIT lines=2 body="Hello Bob.\r\nBye.\r\n"` + "\n",
	},
	{
		name: "missing content-type",
		raw:  crlf("Subject: x\n\nbody"),
		want: `text/plain charset="us-ascii" 7BIT lines=1 body="body"` + "\n",
	},
	{
		name: "no body",
		raw:  crlf("Subject: x\n"),
		want: `text/plain charset="us-ascii" 7BIT body=""` + "\n",
	},
	{
		name: "multipart/alternative",
		raw: crlf(`Content-Type: multipart/alternative; boundary=alt

preamble
--alt
Content-Type: text/plain

plain
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>h=C3=A9llo</p>
--alt--
epilogue
`),
		want: `multipart/alternative boundary="alt" 7BIT
  text/plain 7BIT lines=1 body="plain"
  text/html charset="utf-8" QUOTED-PRINTABLE lines=1 body="<p>h=C3=A9llo</p>"
`,
	},
	{
		name: "multipart/mixed with attachment",
		raw: crlf(`Content-Type: multipart/mixed;
 boundary="==b1=="

--==b1==

See attached.

--==b1==
Content-Type: application/pdf; name="r.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
 filename*0*=utf-8''r%C3%A9sum;
 filename*1*=%C3%A9.pdf;
 size=6
Content-ID: <pdf@x>
Content-Description: My CV
Content-Language: en, fr
Content-Location: http://example.org/cv.pdf
Content-MD5: abc=

JVBERi0x
--==b1==--
`),
		want: `multipart/mixed boundary="==b1==" 7BIT
  text/plain charset="us-ascii" 7BIT lines=1 body="See attached.\r\n"
  application/pdf name="r.pdf" BASE64 attachment filename="résumé.pdf" size="6" body="JVBERi0x"
`,
	},
	{
		name: "nested multipart",
		raw: crlf(`Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

A
--inner
Content-Type: text/html

<b>A</b>
--inner--

--outer
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0K
--outer--
`),
		want: `multipart/mixed boundary="outer" 7BIT
  multipart/alternative boundary="inner" 7BIT
    text/plain 7BIT lines=1 body="A"
    text/html 7BIT lines=1 body="<b>A</b>"
  image/png BASE64 body="iVBORw0K"
`,
	},
	{
		name: "message/rfc822 with multipart",
		raw: crlf(`Content-Type: multipart/mixed; boundary=m

--m
Content-Type: text/plain

Forwarded:
--m
Content-Type: message/rfc822

From: Carol <carol@example.net>
Subject: Inner
Content-Type: multipart/alternative; boundary=i

--i

inner plain
--i
Content-Type: text/html

<i>inner</i>
--i--
--m--
`),
		want: `multipart/mixed boundary="m" 7BIT
  text/plain 7BIT lines=1 body="Forwarded:"
  message/rfc822 7BIT lines=12 envelope-subject="Inner"
    multipart/alternative boundary="i" 7BIT
      text/plain charset="us-ascii" 7BIT lines=1 body="inner plain"
      text/html 7BIT lines=1 body="<i>inner</i>"
`,
	},
	{
		name: "digest defaults to message/rfc822",
		raw: crlf(`Content-Type: multipart/digest; boundary=d

--d

Subject: one

1
--d--
`),
		want: `multipart/digest boundary="d" 7BIT
  message/rfc822 7BIT lines=3 envelope-subject="one"
    text/plain charset="us-ascii" 7BIT lines=1 body="1"
`,
	},
	{
		name: "base64 message/rfc822 is opaque",
		raw: crlf(`Content-Type: message/rfc822
Content-Transfer-Encoding: base64

U3ViamVjdDogeAoKeQo=
`),
		want: `message/rfc822 BASE64 lines=1 body="U3ViamVjdDogeAoKeQo=\r\n"` + "\n",
	},
	{
		name: "no closing boundary",
		raw: crlf(`Content-Type: multipart/mixed; boundary=b

--b

one
--b

two
`),
		want: `multipart/mixed boundary="b" 7BIT
  text/plain charset="us-ascii" 7BIT lines=1 body="one"
  text/plain charset="us-ascii" 7BIT lines=1 body="two\r\n"
`,
	},
	{
		name: "boundary parameter missing",
		raw: crlf(`Content-Type: multipart/mixed

--b

one
--b--
`),
		want: `text/plain 7BIT lines=4 body="--b\r\n\r\none\r\n--b--\r\n"` + "\n",
	},
	{
		name: "boundary never appears",
		raw: crlf(`Content-Type: multipart/mixed; boundary=zz

just text
`),
		want: `text/plain boundary="zz" 7BIT lines=1 body="just text\r\n"` + "\n",
	},
	{
		name: "close delimiter without parts",
		raw: crlf(`Content-Type: multipart/mixed; boundary=zz

text
--zz--
after
`),
		want: `text/plain boundary="zz" 7BIT lines=3 body="text\r\n--zz--\r\nafter\r\n"` + "\n",
	},
	{
		name: "inner part ended by outer boundary",
		raw: crlf(`Content-Type: multipart/mixed; boundary=o

--o
Content-Type: multipart/alternative; boundary=i

--i

unterminated
--o

last
--o--
`),
		want: `multipart/mixed boundary="o" 7BIT
  multipart/alternative boundary="i" 7BIT
    text/plain charset="us-ascii" 7BIT lines=1 body="unterminated"
  text/plain charset="us-ascii" 7BIT lines=1 body="last"
`,
	},
	{
		name: "part without header or blank line",
		raw: crlf(`Content-Type: multipart/mixed; boundary=b

--b
just a body line
--b
--b--
`),
		want: `multipart/mixed boundary="b" 7BIT
  text/plain charset="us-ascii" 7BIT lines=1 body="just a body line"
  text/plain charset="us-ascii" 7BIT body=""
`,
	},
	{
		// The blank line ending the inner header is the CRLF that belongs
		// to the boundary: the encapsulated message is empty.
		name: "empty message/rfc822",
		raw: crlf(`Content-Type: multipart/mixed; boundary=o

--o
Content-Type: message/rfc822

--o--
`),
		want: `multipart/mixed boundary="o" 7BIT
  message/rfc822 7BIT envelope-subject=""
    text/plain charset="us-ascii" 7BIT body=""
`,
	},
	{
		name: "invalid content-type",
		raw:  crlf("Content-Type: text; charset=utf-8\n\nx"),
		want: `text/plain charset="us-ascii" 7BIT lines=1 body="x"` + "\n",
	},
	{
		name: "boundary lookalikes",
		raw: crlf(`Content-Type: multipart/mixed; boundary=b

--b

--bx
--b-- trailing
--b  
--b--
`),
		want: `multipart/mixed boundary="b" 7BIT
  text/plain charset="us-ascii" 7BIT lines=2 body="--bx\r\n--b-- trailing"
  text/plain charset="us-ascii" 7BIT body=""
`,
	},
}

// The same multipart with bare LF line endings: offsets exclude the LF
// before each boundary.
func TestBareLF(t *testing.T) {
	t.Parallel()
	raw := "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\none\ntwo\n--b--\n"
	p := mustParse(t, raw)
	want := `multipart/mixed boundary="b" 7BIT
  text/plain 7BIT lines=2 body="one\ntwo"
`
	if got := describe(raw, p.Body); got != want {
		t.Errorf("structure:\n%s\nwant:\n%s", got, want)
	}
	if p.HeaderSize != int64(len("Content-Type: multipart/mixed; boundary=b\n\n")) {
		t.Errorf("HeaderSize %d", p.HeaderSize)
	}
	child := p.Body.Parts[0]
	if got := raw[child.HeaderOffset:child.BodyOffset]; got != "Content-Type: text/plain\n\n" {
		t.Errorf("child header %q", got)
	}
}

// A message/rfc822 part: offsets of the encapsulated message are absolute,
// and its envelope is there for ENVELOPE inside BODYSTRUCTURE.
func TestEncapsulatedOffsets(t *testing.T) {
	t.Parallel()
	raw := structureCases[slices.IndexFunc(structureCases, func(c struct{ name, raw, want string }) bool {
		return c.name == "message/rfc822 with multipart"
	})].raw
	p := mustParse(t, raw)
	msg := p.Body.Parts[1]
	inner := msg.Message
	if !strings.HasPrefix(raw[inner.HeaderOffset:], "From: Carol") {
		t.Errorf("inner header starts at %q", raw[inner.HeaderOffset:][:20])
	}
	if got := raw[inner.HeaderOffset:inner.BodyOffset]; !strings.HasSuffix(got, "boundary=i\r\n\r\n") {
		t.Errorf("inner header %q", got)
	}
	if got := raw[msg.BodyOffset:msg.EndOffset]; !strings.HasSuffix(got, "--i--") {
		t.Errorf("rfc822 body ends %q", got[len(got)-10:])
	}
	env := msg.Envelope
	if env.Subject != "Inner" || len(env.From) != 1 || env.From[0] != (Address{Name: "Carol", Mailbox: "carol", Host: "example.net"}) {
		t.Errorf("envelope %+v", env)
	}
	if !slices.Equal(env.Sender, env.From) || !slices.Equal(env.ReplyTo, env.From) {
		t.Errorf("Sender/Reply-To should default to From: %+v", env)
	}
	if !strings.Contains(p.Text, "inner plain") || !strings.Contains(p.Text, "Carol") {
		t.Errorf("Text misses the encapsulated message: %q", p.Text)
	}
}

func TestSection(t *testing.T) {
	t.Parallel()
	raw := structureCases[slices.IndexFunc(structureCases, func(c struct{ name, raw, want string }) bool {
		return c.name == "message/rfc822 with multipart"
	})].raw
	body := mustParse(t, raw).Body
	for _, tc := range []struct {
		path []int
		want string // the part's body, "" for no part
	}{
		{[]int{1}, "Forwarded:"},
		{[]int{2, 1}, "inner plain"},
		{[]int{2, 2}, "<i>inner</i>"},
		{[]int{3}, ""},
		{[]int{1, 1}, ""},
		{[]int{0}, ""},
		{nil, ""},
	} {
		got := ""
		if p := body.Section(tc.path...); p != nil {
			got = raw[p.BodyOffset:p.EndOffset]
		}
		if got != tc.want {
			t.Errorf("Section(%v) = %q, want %q", tc.path, got, tc.want)
		}
	}
	if p := body.Section(2); p == nil || p.Message == nil {
		t.Errorf("Section(2) should be the message/rfc822 part")
	}
	single := mustParse(t, crlf("Content-Type: message/rfc822\n\nSubject: s\n\nhi")).Body
	if p := single.Section(1); p != single {
		t.Errorf("Section(1) of a single-part message is its body")
	}
	if p := single.Section(1, 1); p == nil || p != single.Message {
		t.Errorf("Section(1.1) should be the encapsulated message's body")
	}
}
