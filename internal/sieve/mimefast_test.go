package sieve

import (
	"bytes"
	"io"
	"maps"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
)

// TestSinglePartAsGoMessage checks the single-part fast path against
// go-message, which mimeParts uses otherwise.
func TestSinglePartAsGoMessage(t *testing.T) {
	msgs := []string{
		"From: a@b\r\nSubject: hi\r\n\r\nbody\r\n",
		"From: a@b\r\nSubject: hi\r\n there\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nbody é\r\n",
		"From: a@b\nContent-Type: text/html; charset=us-ascii\n\n<p>x</p>\n",
		"Content-Type: application/pdf; name=\"a b\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%PDF\r\n",
		"Content-Type: text/plain\r\nContent-Transfer-Encoding: 7BIT\r\n\r\nx",
	}
	for _, raw := range msgs {
		m := newMessage(&Input{Message: strings.NewReader(raw), Size: int64(len(raw))})
		p, ok := m.singlePart()
		if !ok {
			t.Fatalf("%q: not taken", raw)
		}
		e, err := gomessage.Read(bytes.NewReader([]byte(raw)))
		if err != nil {
			t.Fatal(err)
		}
		typ, params, _ := e.Header.ContentType()
		if !e.Header.Has("Content-Type") {
			typ = "text/plain"
		}
		body, _ := io.ReadAll(e.Body)
		if p.ctype != typ || !maps.Equal(p.params, params) || p.body != string(body) {
			t.Errorf("%q: got %q %v %q, go-message %q %v %q", raw, p.ctype, p.params, p.body, typ, params, body)
		}
		fs := e.Header.Fields()
		for i := 0; fs.Next(); i++ {
			r, _ := fs.Raw()
			name, val, _ := strings.Cut(string(r), ":")
			if i >= len(p.header) || p.header[i].name != name || p.header[i].raw != strings.TrimRight(val, "\r\n") {
				t.Errorf("%q: field %d differs from %q", raw, i, r)
			}
		}
	}
	for _, raw := range []string{
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\na\r\n--x--\r\n",
		"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nx",
		"Content-Transfer-Encoding: base64\r\n\r\neA==",
		"From: a@b\nSubject: a\n b\n\nx",
		"From a@b\r\n\r\nx",
		"From: a@b\r\n\r\n",
	} {
		m := newMessage(&Input{Message: strings.NewReader(raw), Size: int64(len(raw))})
		if _, ok := m.singlePart(); ok {
			t.Errorf("%q: taken", raw)
		}
	}
}
