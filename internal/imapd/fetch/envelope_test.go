package fetch

import (
	"strings"
	"testing"
)

func TestEnvelope(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		raw  string
		utf8 bool
		want string
	}{
		{
			name: "RFC 3501 example",
			raw: crlf(`Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
From: Terry Gray <gray@cac.washington.edu>
Subject: IMAP4rev1 WG mtg summary and minutes
To: imap@cac.washington.edu
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>
Message-Id: <B27397-0100000@cac.washington.edu>

x
`),
			want: `("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ` +
				`(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
				`((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ` +
				`"<B27397-0100000@cac.washington.edu>")`,
		},
		{
			name: "groups",
			raw:  crlf("From: a@example.org\nTo: undisclosed-recipients:;\nCc: Team: x@example.org, \"Y \\\"Q\\\"\" <y@example.org>;, z@example.org\nIn-Reply-To: <0@example.org>\n\n"),
			want: `(NIL NIL ((NIL NIL "a" "example.org")) ((NIL NIL "a" "example.org")) ((NIL NIL "a" "example.org")) ` +
				`((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ` +
				`((NIL NIL "Team" NIL)(NIL NIL "x" "example.org")("Y \"Q\"" NIL "y" "example.org")(NIL NIL NIL NIL)(NIL NIL "z" "example.org")) ` +
				`NIL "<0@example.org>" NIL)`,
		},
		{
			name: "non-ASCII subject, no UTF-8: literal",
			raw:  crlf("Subject: Café\nFrom: Zoë <zoe@example.org>\n\n"),
			want: "(NIL {5}\r\nCafé ((\"=?utf-8?q?Zo=C3=AB?=\" NIL \"zoe\" \"example.org\")) ((\"=?utf-8?q?Zo=C3=AB?=\" NIL \"zoe\" \"example.org\")) ((\"=?utf-8?q?Zo=C3=AB?=\" NIL \"zoe\" \"example.org\")) NIL NIL NIL NIL NIL)",
		},
		{
			name: "non-ASCII subject, UTF-8: quoted",
			raw:  crlf("Subject: Café\nFrom: Zoë <zoe@example.org>\n\n"),
			utf8: true,
			want: `(NIL "Café" (("Zoë" NIL "zoe" "example.org")) (("Zoë" NIL "zoe" "example.org")) (("Zoë" NIL "zoe" "example.org")) NIL NIL NIL NIL NIL)`,
		},
		{
			name: "encoded-word subject stays encoded",
			raw:  crlf("Subject: =?utf-8?q?Caf=C3=A9?=\n\n"),
			want: `(NIL "=?utf-8?q?Caf=C3=A9?=" NIL NIL NIL NIL NIL NIL NIL NIL)`,
		},
		{
			name: "invalid UTF-8 subject is a literal even with UTF-8",
			raw:  crlf("Subject: Caf\xe9\n\n"),
			utf8: true,
			want: "(NIL {4}\r\nCaf\xe9 NIL NIL NIL NIL NIL NIL NIL NIL)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tc.raw)
			if got := string(AppendEnvelope(nil, &p.Envelope, tc.utf8)); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestEnvelopeNil(t *testing.T) {
	t.Parallel()
	if got, want := string(AppendEnvelope(nil, nil, false)), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		utf8 bool
		want string
	}{
		{"", false, `""`},
		{"plain", false, `"plain"`},
		{`a "b" \c`, false, `"a \"b\" \\c"`},
		{"a\r\nb", false, "{4}\r\na\r\nb"},
		{"a\x00b", false, `"ab"`},
		{"é", false, "{2}\r\né"},
		{"é", true, `"é"`},
		{string(make([]byte, 2000)) + "x", false, `"x"`},
	} {
		if got := string(appendString(nil, tc.in, tc.utf8)); got != tc.want {
			t.Errorf("appendString(%q, %v) = %q, want %q", tc.in, tc.utf8, got, tc.want)
		}
	}
	long := strings.Repeat("a", maxQuoted+1)
	if got, want := string(appendString(nil, long, false)), "{1025}\r\n"+long; got != want {
		t.Errorf("long string: got %.20q…, want a literal", got)
	}
}
