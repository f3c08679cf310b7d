package message

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// TestEncodeNULParts: only the leaves with NUL bytes are re-encoded, the
// rest of the message is kept byte for byte.
func TestEncodeNULParts(t *testing.T) {
	raw := "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding:\r\n binary\r\n\r\nx\x00y\r\n" +
		"--b--\r\n"
	p, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	out, changed := EncodeNULParts([]byte(raw), p)
	want := "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\neABf\r\n\r\n" +
		"--b--\r\n"
	want = strings.Replace(want, "eABf", base64.StdEncoding.EncodeToString([]byte("x\x00y")), 1)
	if !changed || string(out) != want {
		t.Fatalf("changed %v\n got %q\nwant %q", changed, out, want)
	}
	if _, changed := EncodeNULParts([]byte("Subject: x\r\n\r\nno nul\r\n"), p); changed {
		t.Fatal("a message without NUL was changed")
	}
}

// FuzzEncodeNULParts: whatever the message, the result parses, and no
// leaf of it holds a NUL any more unless in a header.
func FuzzEncodeNULParts(f *testing.F) {
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\x00y\r\n--b--\r\n"))
	f.Add([]byte("Subject: a\r\n\r\n\x00"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := EncodeNULParts(raw, p)
		q, err := Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		walkLeaves(q.Body, func(pt *Part) {
			if body := span(out, pt.BodyOffset, pt.EndOffset); bytes.IndexByte(body, 0) >= 0 && !strings.EqualFold(pt.Encoding, "BASE64") {
				t.Fatalf("a NUL left in a %s leaf of %q", pt.Encoding, out)
			}
		})
	})
}
