package message

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEnvelope(t *testing.T) {
	t.Parallel()
	raw := crlf(`Date: Fri, 21 Nov 1997 09:55:06 -0600 (CST)
From: =?UTF-8?Q?Andr=C3=A9?= Pirard <PIRARD@vm1.ulg.ac.be>
Sender: <secretary@example.org>
To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, "Smith, Mary" <mary@x.test>
Cc: Undisclosed recipients:;
Bcc: (nobody)
Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=
 =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=
Message-ID: <1234@local.machine.example>
In-Reply-To: <a@x> (your message of Friday)
References: <a@x>
	<b@y> <c
 @z>

Body
`)
	p := mustParse(t, raw)
	want := Envelope{
		Date:    "Fri, 21 Nov 1997 09:55:06 -0600 (CST)",
		Subject: "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
		From:    []Address{{Name: "André Pirard", Mailbox: "PIRARD", Host: "vm1.ulg.ac.be"}},
		Sender:  []Address{{Mailbox: "secretary", Host: "example.org"}},
		To: []Address{
			{Mailbox: "A Group"},
			{Name: "Ed Jones", Mailbox: "c", Host: "a.test"},
			{Mailbox: "joe", Host: "where.test"},
			{Name: "John", Mailbox: "jdoe", Host: "one.test"},
			{},
			{Name: "Smith, Mary", Mailbox: "mary", Host: "x.test"},
		},
		Cc:        []Address{{Mailbox: "Undisclosed recipients"}, {}},
		InReplyTo: "<a@x> (your message of Friday)",
		MessageID: "<1234@local.machine.example>",
	}
	want.ReplyTo = want.From
	if !reflect.DeepEqual(p.Envelope, want) {
		t.Errorf("envelope\n got %+v\nwant %+v", p.Envelope, want)
	}
	if p.BaseSubject != "If you can read this you understand the example." {
		t.Errorf("BaseSubject %q", p.BaseSubject)
	}
	if p.MessageID != "1234@local.machine.example" || !slices.Equal(p.InReplyTo, []string{"a@x"}) ||
		!slices.Equal(p.References, []string{"a@x", "b@y", "c@z"}) {
		t.Errorf("ids %q %q %q", p.MessageID, p.InReplyTo, p.References)
	}
	if want := time.Date(1997, 11, 21, 15, 55, 6, 0, time.UTC); !p.SentDate.Equal(want) {
		t.Errorf("SentDate %v", p.SentDate)
	}
	// A group's name is its first address's mailbox (as Dovecot sorts).
	if p.SortFrom != "PIRARD" || p.SortTo != "A Group" || p.SortCc != "Undisclosed recipients" {
		t.Errorf("sort keys %q %q %q", p.SortFrom, p.SortTo, p.SortCc)
	}
	if p.DisplayFrom != "André Pirard" || p.DisplayTo != "A Group" {
		t.Errorf("display keys %q %q", p.DisplayFrom, p.DisplayTo)
	}
	if p.HeaderSize != int64(strings.Index(raw, "Body")) {
		t.Errorf("HeaderSize %d", p.HeaderSize)
	}
	if len(p.Headers) != 10 || p.Headers[9] != (HeaderField{"References", "<a@x>\t<b@y> <c @z>"}) {
		t.Errorf("Headers %q", p.Headers)
	}
	for _, s := range []string{"André Pirard", "understand the example", "Ed Jones", "Body"} {
		if !strings.Contains(p.Text, s) {
			t.Errorf("Text %q lacks %q", p.Text, s)
		}
	}
}

func TestAddressList(t *testing.T) {
	t.Parallel()
	p := newParser(strings.NewReader(""))
	for _, tc := range []struct {
		in   string
		want []Address
	}{
		{"", nil},
		{"user@host", []Address{{Mailbox: "user", Host: "host"}}},
		// The obsolete display name in a trailing comment (RFC 5322 §3.4):
		// the last comment inside or after a bare addr-spec, unescaped,
		// nested comments kept.
		{"user@host (Comment Name)", []Address{{Name: "Comment Name", Mailbox: "user", Host: "host"}}},
		{"user@domain (Real Name), g: a@b (A (x) \\) \\(y\\));", []Address{
			{Name: "Real Name", Mailbox: "user", Host: "domain"},
			{Mailbox: "g"}, {Name: "A (x) ) (y)", Mailbox: "a", Host: "b"}, {}}},
		{"u (one) @h (two)", []Address{{Name: "two", Mailbox: "u", Host: "h"}}},
		{"u@h (one) ()", []Address{{Mailbox: "u", Host: "h"}}},                                     // the empty one is last
		{"(before) u@h, (x) v@h", []Address{{Mailbox: "u", Host: "h"}, {Mailbox: "v", Host: "h"}}}, // not part of the address
		{"u@h (=?utf-8?q?Andr=C3=A9?=)", []Address{{Name: "André", Mailbox: "u", Host: "h"}}},
		{"Name <u@h> (other)", []Address{{Name: "Name", Mailbox: "u", Host: "h"}}},
		{"<u@h> (other)", []Address{{Mailbox: "u", Host: "h"}}},
		{"u@h (unterminated", []Address{{Mailbox: "u", Host: "h"}}},
		{"g: (foo) ;", []Address{{Mailbox: "g"}, {}}},
		{`"Doe, \"J\"" <j@d.test>`, []Address{{Name: `Doe, "J"`, Mailbox: "j", Host: "d.test"}}},
		{"John Q. Public <jqp@x.test>", []Address{{Name: "John Q. Public", Mailbox: "jqp", Host: "x.test"}}},
		{`"=?utf-8?b?w6lt?=" <e@x>`, []Address{{Name: "ém", Mailbox: "e", Host: "x"}}},
		{"<@r1.test,@r2.test:u@h.test>", []Address{{Adl: "@r1.test,@r2.test", Mailbox: "u", Host: "h.test"}}},
		{`"quoted local"@h`, []Address{{Mailbox: "quoted local", Host: "h"}}},
		{"nodomain", []Address{{Mailbox: "nodomain", Host: missingHost}}},
		{"Name <>", []Address{{Name: "Name", Host: missingHost}}},
		{"<>", nil},
		{"a@b, , c@d,", []Address{{Mailbox: "a", Host: "b"}, {Mailbox: "c", Host: "d"}}},
		{"Broken <a@b junk, c@d", []Address{{Name: "Broken", Mailbox: "a", Host: "bjunk"}, {Mailbox: "c", Host: "d"}}},
		{"G: a@b", []Address{{Mailbox: "G"}, {Mailbox: "a", Host: "b"}, {}}},
		{"a@b;", []Address{{Mailbox: "a", Host: "b"}}},
		{"Name <a@[127.0.0.1]>", []Address{{Name: "Name", Mailbox: "a", Host: "[127.0.0.1]"}}},
		{"\xff\xfe <x@y>", []Address{{Name: "\uFFFD", Mailbox: "x", Host: "y"}}},
		{"a@b) (x", []Address{{Mailbox: "a", Host: "b)"}}},
		{`"unterminated <a@b>`, []Address{{Mailbox: "unterminated <a@b>", Host: missingHost}}},
	} {
		if got := parseAddressList(tc.in, p.decodeName); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseAddressList(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

func TestBaseSubject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		reply    bool
	}{
		{"Hello", "Hello", false},
		{"Re: Hello", "Hello", true},
		{"RE:Hello", "Hello", true},
		{"Re: [fwd: Hello] (fwd)", "Hello", true},
		{"re: re: fwd: fw: Hello", "Hello", true},
		{"Re[2]: Hello", "Hello", true},
		{"[list] Re: Hello", "Hello", true},
		{"[list] Hello", "Hello", false},
		{"[list]", "[list]", false},
		{"[a][b] Re: [c] Hello", "Hello", true},
		{"[a][b] [c]", "[c]", false},
		{"[a] [b]  x", "x", false},
		{"[a] [b] re: [c]", "[c]", true},
		{"Hello (fwd) (FWD)  ", "Hello", true},
		{"  Tabs\tand   spaces  ", "Tabs and spaces", false},
		{"[Fwd: Re: x]", "x", true},
		{"Re:", "", true},
		{"Reply", "Reply", false},
		{"Fwd Re: x", "Fwd Re: x", false},
		{"", "", false},
	} {
		got, reply := baseSubject(tc.in)
		if got != tc.want || reply != tc.reply {
			t.Errorf("baseSubject(%q) = %q, %v; want %q, %v", tc.in, got, reply, tc.want, tc.reply)
		}
	}
}

// Subject stays raw in the envelope; the base subject is decoded first
// (RFC 5256 §2.1 step 1).
func TestEncodedSubject(t *testing.T) {
	t.Parallel()
	raw := crlf("Subject: Re: =?utf-8?q?=5Bfwd=3A_H=C3=A9llo=5D?= (fwd)\n\nx")
	p := mustParse(t, raw)
	if p.Envelope.Subject != "Re: =?utf-8?q?=5Bfwd=3A_H=C3=A9llo=5D?= (fwd)" {
		t.Errorf("Envelope.Subject %q", p.Envelope.Subject)
	}
	if p.BaseSubject != "Héllo" || !p.SubjectIsReply {
		t.Errorf("BaseSubject %q, reply %v", p.BaseSubject, p.SubjectIsReply)
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"Mon, 2 Jan 2006 15:04:05 -0700", time.Date(2006, 1, 2, 22, 4, 5, 0, time.UTC)},
		{"2 Jan 06 15:04 GMT", time.Date(2006, 1, 2, 15, 4, 0, 0, time.UTC)},
		{"Mon Jan  2 15:04:05 2006", time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"Mon, 2 Jan 2006 15:04:05", time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"Mon, 2 Jan 2006 15:04:05 +2430", time.Date(2006, 1, 1, 14, 34, 5, 0, time.UTC)},
		{"Mon, 2 Jan 2006 15:04:05 +9900", time.Time{}},
		{"yesterday", time.Time{}},
		{"", time.Time{}},
	} {
		got := parseDate(tc.in)
		if !got.Equal(tc.want) {
			t.Errorf("parseDate(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if _, err := got.MarshalJSON(); err != nil {
			t.Errorf("parseDate(%q) cannot be stored: %v", tc.in, err)
		}
	}
}

func TestHeaderSyntax(t *testing.T) {
	t.Parallel()
	raw := crlf(" leading continuation\nSubject : spaced\nX-Long: a\n  b\n\tc\nNo colon here\nBody: not a header\n")
	p := mustParse(t, raw)
	// A first line that continues nothing is not a header: it is all body.
	if p.HeaderSize != 0 || len(p.Headers) != 0 {
		t.Errorf("HeaderSize %d, Headers %q", p.HeaderSize, p.Headers)
	}
	raw = raw[strings.IndexByte(raw, '\n')+1:]
	p = mustParse(t, raw)
	want := []HeaderField{{"Subject", "spaced"}, {"X-Long", "a  b\tc"}}
	if !slices.Equal(p.Headers, want) || p.Envelope.Subject != "spaced" {
		t.Errorf("Headers %q, Subject %q", p.Headers, p.Envelope.Subject)
	}
	if got := raw[p.Body.BodyOffset:]; got != "No colon here\r\nBody: not a header\r\n" {
		t.Errorf("body %q", got)
	}
}

func TestDecodedText(t *testing.T) {
	t.Parallel()
	raw := crlf(`Subject: caf` + "\xe9" + `
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

caf=E9 soft=
break =ZZ
--b
Content-Type: text/plain; charset=utf-8

bad ` + "\xff\xfe" + ` bytes
--b
Content-Type: text/plain; charset=x-no-such-charset

raw stays
--b
Content-Type: text/plain; charset*=utf-8''%E2%82%AC
Content-Transfer-Encoding: base64

w6lsw6h2
ZQ==
--b--
`)
	p := mustParse(t, raw)
	if p.Envelope.Subject != "caf\xe9" {
		t.Errorf("raw Subject changed: %q", p.Envelope.Subject)
	}
	if !utf8.ValidString(p.Text) || !utf8.ValidString(p.BaseSubject) {
		t.Errorf("invalid UTF-8 in Text %q or BaseSubject %q", p.Text, p.BaseSubject)
	}
	for _, s := range []string{"café softbreak =ZZ", "bad \uFFFD bytes", "raw stays", "élève", "caf\uFFFD"} {
		if !strings.Contains(p.Text, s) {
			t.Errorf("Text %q lacks %q", p.Text, s)
		}
	}
	if p.Preview != "café softbreak =ZZ" {
		t.Errorf("Preview %q", p.Preview)
	}
	if got := p.Body.Parts[3].Params["charset"]; got != "€" {
		t.Errorf("RFC 2231 charset param %q", got)
	}
}

func TestPreview(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 100)
	for _, tc := range []struct{ name, raw, want string }{
		{"plain", "\nHello\n\n  world\t!\n", "Hello world !"},
		{"long", "\n" + long, strings.TrimSpace(long[:200])},
		{"html", "Content-Type: text/html\n\n<html><head><style>p{}</style></head><body><p>Hi&amp;bye</p><script>x</script>1 < 2</body>",
			"Hi&bye 1 < 2"},
		{"attachment skipped", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nContent-Disposition: attachment\n\nno\n--b\n\nyes\n--b--\n", "yes"},
		{"image only", "Content-Type: image/png\n\nxxx", ""},
	} {
		p := mustParse(t, crlf(tc.raw))
		if p.Preview != tc.want {
			t.Errorf("%s: Preview %q, want %q", tc.name, p.Preview, tc.want)
		}
	}
}
