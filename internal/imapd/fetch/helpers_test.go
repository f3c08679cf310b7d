package fetch

import (
	"strings"
	"testing"

	"facteur.dev/facteur/internal/message"
)

// crlf turns the LF line breaks of a test literal into CRLF, as stored.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func mustParse(t testing.TB, raw string) *message.Parsed {
	t.Helper()
	p, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

// rfcText is RFC 3501 §7.4.2's example: a text/plain body of 3028 bytes
// in 92 lines.
var rfcText = func() string {
	var b strings.Builder
	b.WriteString("From: Fred Foobar <foobar@Blurdybloop.COM>\r\n")
	b.WriteString("Subject: afternoon meeting\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n")
	for range 91 {
		b.WriteString(strings.Repeat("x", 31) + "\r\n")
	}
	b.WriteString(strings.Repeat("y", 23) + "\r\n")
	return b.String()
}()

// mixed is a message with every kind of part the tests look at:
//
//	1   text/plain
//	2   multipart/alternative
//	2.1 text/plain, quoted-printable
//	2.2 text/html
//	3   message/rfc822 (multipart/alternative: 3.1 text/plain, 3.2 text/html)
//	4   application/pdf, base64, attachment
var mixed = crlf(`From: Alice <alice@example.org>
To: Bob <bob@example.net>
Subject: Report
Date: Mon, 7 Feb 1994 21:52:25 -0800
Message-ID: <1@example.org>
X-Folded: first
 second
Content-Type: multipart/mixed; boundary=outer

preamble
--outer

See attached.
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 =
au lait=20
--inner
Content-Type: text/html; charset=utf-8

<p>Cafe</p>
--inner--

--outer
Content-Type: message/rfc822
Content-Description: forwarded

From: Carol <carol@example.net>
Subject: Inner
Content-Type: multipart/alternative; boundary=i

--i

inner plain
--i
Content-Type: text/html

<i>inner</i>
--i--
--outer
Content-Type: application/pdf; name="r.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="r.pdf"
Content-Language: en

SGVsbG8s
IHdvcmxkIQ==
--outer--
epilogue
`)
