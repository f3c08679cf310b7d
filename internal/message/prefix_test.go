package message

import (
	"encoding/json"
	"reflect"
	"testing"
)

// prefixes are header fields a store may put before a message's bytes:
// trace fields, and fields the envelope and sort keys are read from, which
// then come from the prefix (the first field of a name counts).
var prefixes = map[string]string{
	"trace": "Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=example.org\r\n" +
		"X-Spam-Score: 0.1\r\n",
	"folded": "ARC-Seal: i=1; a=rsa-sha256; t=1;\r\n\tcv=none; d=example.test\r\n",
	"envelope fields": "Subject: =?UTF-8?Q?[SPAM]_caf=C3=A9?=\r\nFrom: Filter <filter@example.test>\r\n" +
		"Message-ID: <prefix@example.test>\r\nReferences: <r1@x> <r2@x>\r\nDate: Tue, 3 Nov 2026 10:00:00 +0100\r\n",
	"no ids": "Message-ID: not an id\r\n",
}

// prefixCases are messages beyond structureCases: nested message/rfc822
// with text in several parts, no header, an empty message.
var prefixCases = map[string]string{
	"nested": crlf(`From: a@example.org
Subject: outer
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

first
--b
Content-Type: message/rfc822

Subject: inner
To: c@example.org
Content-Type: multipart/alternative; boundary=c

--c

inner text
--c
Content-Type: text/html

<p>inner html</p>
--c--
--b--
`),
	"no header":         crlf("just a body line\nand another\n"),
	"blank first":       crlf("\nbody after a blank line\n"),
	"empty":             "",
	"body starts blank": crlf("Subject: s\n\n\n\nbody after blank lines\n"),
}

// TestWithPrefix: WithPrefix of a message's Parsed is what Parse makes of
// the prefix and the message's bytes together, field for field.
func TestWithPrefix(t *testing.T) {
	t.Parallel()
	raws := map[string]string{}
	for _, tc := range structureCases {
		raws[tc.name] = tc.raw
	}
	for name, raw := range prefixCases {
		raws[name] = raw
	}
	for name, raw := range raws {
		for pname, h := range prefixes {
			got := mustParse(t, raw).WithPrefix(h)
			want := mustParse(t, h+raw)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("%s with %s prefix:\n%s\nwant:\n%s", name, pname, g, w)
			}
		}
	}
}

// TestWithPrefixShares: the Parsed given is left as it was (a store may
// share it), and an empty prefix costs nothing.
func TestWithPrefixShares(t *testing.T) {
	t.Parallel()
	raw := prefixCases["nested"]
	p := mustParse(t, raw)
	before, _ := json.Marshal(p)
	if p.WithPrefix("") != p {
		t.Error("WithPrefix(\"\") made a copy")
	}
	q := p.WithPrefix(prefixes["trace"])
	if after, _ := json.Marshal(p); string(after) != string(before) {
		t.Errorf("WithPrefix changed its receiver")
	}
	if err := checkParsed(q, []byte(prefixes["trace"]+raw)); err != nil {
		t.Error(err)
	}
}
