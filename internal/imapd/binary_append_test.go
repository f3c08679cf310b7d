package imapd

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/imapd/fetch"
	"facteur.dev/facteur/internal/message"
)

// TestAppendBinaryNUL: a message appended as a literal8 with NUL bytes in
// a part is stored with that part in base64, so BODY[1] is sendable as a
// plain literal, while BINARY[1] and BINARY.SIZE[1] give the original
// bytes (RFC 3516 §4.4; imaptest's append-binary group, as Dovecot).
func TestAppendBinaryNUL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(e.start(nil))
	c.login()
	body := "\x00-\xe4\r\n\r\n"
	msg := "From: user@example.org\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Transfer-Encoding: binary\r\n\r\n" + body
	c.Send(fmt.Sprintf("a APPEND INBOX ~{%d+}", len(msg)))
	c.Raw().Write([]byte(msg + "\r\n"))
	c.until("a", "OK")
	c.cmd("s", "SELECT INBOX", "OK")
	lines, _ := c.cmd("f", "FETCH 1 (BODY.PEEK[1] BINARY.SIZE[1] BODYSTRUCTURE)", "OK")
	got := strings.Join(lines, "\n")
	b64 := base64.StdEncoding.EncodeToString([]byte(body))
	want := fmt.Sprintf("* 1 FETCH (BODY[1] {%d}\n%s\n BINARY.SIZE[1] %d BODYSTRUCTURE (\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" %d",
		len(b64)+2, b64, len(body), len(b64)+2)
	if !strings.HasPrefix(got, want) {
		t.Fatalf("FETCH:\n got %q\nwant %q…", got, want)
	}
	lines, _ = c.cmd("g", "FETCH 1 BINARY.PEEK[1]", "OK")
	if got, want := strings.Join(lines, "\n"), fmt.Sprintf("* 1 FETCH (BINARY[1] ~{%d}\n%s)", len(body), strings.TrimSuffix(strings.ReplaceAll(body, "\r\n", "\n"), "\n")); !strings.HasPrefix(got, want[:20]) || !strings.Contains(got, "\x00-\xe4") {
		t.Fatalf("BINARY[1]: %q, want %q", got, want)
	}
}

// TestConvertBinaryRFC822: BINARY of a message/rfc822 part decodes the
// base64 leaves inside and says binary in their headers; the structure
// has the decoded sizes and line ends (RFC 5524 §3, as Dovecot).
func TestConvertBinaryRFC822(t *testing.T) {
	raw := "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n" +
		"--o\r\nContent-Type: message/rfc822\r\n\r\n" +
		"Subject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n" +
		"--i\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n" +
		"--i--\r\n" +
		"--o--\r\n"
	p, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	out, st, err := fetch.ConvertBinary(strings.NewReader(raw), int64(len(raw)), p, fetch.Section{Path: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	want := "Subject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n" +
		"--i\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nhello" +
		"\r\n--i--" // the CRLF before the outer boundary belongs to it
	if string(out) != want {
		t.Fatalf("converted\n got %q\nwant %q", out, want)
	}
	leaf := st.Message.Parts[0]
	if st.Size != int64(len(want)) || leaf.Size != 5 || leaf.Lines != 0 || leaf.Encoding != "BASE64" {
		t.Fatalf("structure: size %d, leaf size %d lines %d encoding %s", st.Size, leaf.Size, leaf.Lines, leaf.Encoding)
	}
}
