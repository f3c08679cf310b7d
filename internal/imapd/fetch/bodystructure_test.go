package fetch

import (
	"testing"
)

func TestBodyStructure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		raw      string
		extended bool
		utf8     bool
		want     string
	}{
		{
			name: "RFC 3501 text/plain BODY",
			raw:  rfcText,
			want: `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)`,
		},
		{
			name:     "RFC 3501 text/plain BODYSTRUCTURE",
			raw:      rfcText,
			extended: true,
			want:     `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)`,
		},
		{
			name: "text without charset gets the default",
			raw:  crlf("Content-Type: text/html\n\n<p>x</p>\n"),
			want: `("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 1)`,
		},
		{
			name: "mixed BODY",
			raw:  mixed,
			want: `(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 13 1)` +
				`(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 23 2)("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 11 1) "ALTERNATIVE")` +
				`("MESSAGE" "RFC822" NIL NIL "forwarded" "7BIT" 171 (NIL "Inner" (("Carol" NIL "carol" "example.net")) (("Carol" NIL "carol" "example.net")) (("Carol" NIL "carol" "example.net")) NIL NIL NIL NIL NIL) ` +
				`(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 11 1)("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 12 1) "ALTERNATIVE") 12)` +
				`("APPLICATION" "PDF" ("NAME" "r.pdf") NIL NIL "BASE64" 22) "MIXED")`,
		},
		{
			name:     "mixed BODYSTRUCTURE",
			raw:      mixed,
			extended: true,
			want: `(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 13 1 NIL NIL NIL NIL)` +
				`(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 23 2 NIL NIL NIL NIL)("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 11 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL)` +
				`("MESSAGE" "RFC822" NIL NIL "forwarded" "7BIT" 171 (NIL "Inner" (("Carol" NIL "carol" "example.net")) (("Carol" NIL "carol" "example.net")) (("Carol" NIL "carol" "example.net")) NIL NIL NIL NIL NIL) ` +
				`(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 11 1 NIL NIL NIL NIL)("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "i") NIL NIL NIL) 12 NIL NIL NIL NIL)` +
				`("APPLICATION" "PDF" ("NAME" "r.pdf") NIL NIL "BASE64" 22 NIL ("ATTACHMENT" ("FILENAME" "r.pdf")) ("en") NIL) "MIXED" ("BOUNDARY" "outer") NIL NIL NIL)`,
		},
		{
			name: "opaque message/rfc822 is a basic part",
			raw:  crlf("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQo=\n"),
			want: `("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 22)`,
		},
		{
			name:     "all extension fields",
			raw:      crlf("Content-Type: image/png\nContent-ID: <img@x>\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\nContent-Disposition: inline; filename=a.png; size=3\nContent-Language: en, fr\nContent-Location: http://example.org/a.png\nContent-Transfer-Encoding: base64\n\nAAAA\n"),
			extended: true,
			want:     `("IMAGE" "PNG" NIL "<img@x>" NIL "BASE64" 6 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("INLINE" ("FILENAME" "a.png" "SIZE" "3")) ("en" "fr") "http://example.org/a.png")`,
		},
		{
			name:     "non-ASCII parameter, no UTF-8",
			raw:      crlf("Content-Type: application/pdf\nContent-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\n\nx\n"),
			extended: true,
			want:     `("APPLICATION" "PDF" NIL NIL NIL "7BIT" 3 NIL ("ATTACHMENT" ("FILENAME" "=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=")) NIL NIL)`,
		},
		{
			name:     "non-ASCII parameter, UTF-8",
			raw:      crlf("Content-Type: application/pdf\nContent-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\n\nx\n"),
			extended: true,
			utf8:     true,
			want:     `("APPLICATION" "PDF" NIL NIL NIL "7BIT" 3 NIL ("ATTACHMENT" ("FILENAME" "résumé.pdf")) NIL NIL)`,
		},
		{
			name: "raw 8-bit description is a literal without UTF-8",
			raw:  crlf("Content-Description: Café\n\nx\n"),
			want: "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL {5}\r\nCafé \"7BIT\" 3 1)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tc.raw)
			got := string(AppendBodyStructure(nil, p.Body, tc.extended, tc.utf8))
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestBodyStructureNil(t *testing.T) {
	t.Parallel()
	got := string(AppendBodyStructure([]byte("BODY "), nil, false, false))
	if want := `BODY ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
