package pop3d

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// rawBody reads a multi-line response's bytes up to and including the
// terminator, exactly as sent.
func (c *client) rawBody() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l := c.Line()
		b.WriteString(l + "\r\n")
		if l == "." {
			return b.String()
		}
	}
}

func TestRetrStreamsStuffedCRLF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	stored := "Subject: dots\r\n\r\n.leading dot\r\n..two\r\nbare LF\n.\r\nlast line without ending"
	e.deliver("alice@example.test", stored)
	c := e.login(e.serve(), "alice@example.test")
	c.expect("RETR 1", fmt.Sprintf("+OK %d octets", len(stored)))
	want := "Subject: dots\r\n\r\n..leading dot\r\n...two\r\nbare LF\r\n..\r\nlast line without ending\r\n.\r\n"
	if got := c.rawBody(); got != want {
		t.Fatalf("RETR sent\n%q\nwant\n%q", got, want)
	}
}

func TestTop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver("alice@example.test", "Subject: top\r\nX-A: b\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n")
	e.deliver("alice@example.test", "Subject: header only\r\n")
	c := e.login(e.serve(), "alice@example.test")
	for n, want := range map[string]string{
		"0":  "Subject: top\r\nX-A: b\r\n\r\n.\r\n",
		"2":  "Subject: top\r\nX-A: b\r\n\r\nline 1\r\n..line 2\r\n.\r\n",
		"99": "Subject: top\r\nX-A: b\r\n\r\nline 1\r\n..line 2\r\nline 3\r\n.\r\n",
	} {
		c.ok("TOP 1 " + n)
		if got := c.rawBody(); got != want {
			t.Errorf("TOP 1 %s sent\n%q\nwant\n%q", n, got, want)
		}
	}
	c.ok("TOP 2 1")
	if got := c.rawBody(); got != "Subject: header only\r\n.\r\n" {
		t.Errorf("TOP of a header-only message: %q", got)
	}
}

// writeBody over chunks smaller than a line: long lines, a CRLF split
// across the reader's buffer, a dot at the start of a long line.
func TestWriteBodyLongLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 8<<10-1)
	for _, tc := range []struct{ in, want string }{
		{long + "\r\nend\r\n", long + "\r\nend\r\n"},
		{long + "y\r\n", long + "y\r\n"},
		{"." + long + long + "\n", ".." + long + long + "\r\n"},
		{long + "\r", long + "\r\n"},
		{"a\rb\r\n", "a\rb\r\n"},
		{"", ""},
	} {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		if err := writeBody(w, strings.NewReader(tc.in), -1); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if out.String() != tc.want {
			t.Errorf("writeBody(%.20q… %d bytes) = %.40q… (%d bytes), want %d bytes", tc.in, len(tc.in), out.String(), out.Len(), len(tc.want))
		}
	}
}

// referenceBody is writeBody's specification, line by line: every line
// ends in CRLF (one CR before its LF, or a CR ending the message, is
// dropped first), a line starting with "." gets another, and with
// bodyLines >= 0 only that many lines follow the header's blank line.
func referenceBody(in string, bodyLines int) string {
	var b strings.Builder
	inHeader := true
	for _, line := range strings.SplitAfter(in, "\n") {
		if line == "" {
			continue
		}
		switch {
		case inHeader:
			inHeader = line != "\n" && line != "\r\n"
		case bodyLines == 0:
			return b.String()
		case bodyLines > 0:
			bodyLines--
		}
		if line[0] == '.' {
			b.WriteByte('.')
		}
		b.WriteString(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
		b.WriteString("\r\n")
	}
	return b.String()
}

// FuzzWriteBody checks writeBody against referenceBody whatever the
// message and however the reader splits it.
func FuzzWriteBody(f *testing.F) {
	f.Add("Subject: a\r\n\r\n.dot\r\nbody\r\n", 1)
	f.Add("no header\n.\n\r\r\n.\r", -1)
	f.Add("H: v\r\n\r\n\r\n\r", 0)
	f.Add("\r\n\r\n.\r\n.", 2)
	f.Fuzz(func(t *testing.T, in string, bodyLines int) {
		if bodyLines < -1 {
			bodyLines = -1
		}
		want := referenceBody(in, bodyLines)
		for name, r := range map[string]io.Reader{
			"whole":    strings.NewReader(in),
			"one byte": iotest.OneByteReader(strings.NewReader(in)),
			"halves":   iotest.HalfReader(strings.NewReader(in)),
			"data+EOF": iotest.DataErrReader(strings.NewReader(in)),
		} {
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			if err := writeBody(w, r, bodyLines); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if out.String() != want {
				t.Fatalf("%s: writeBody(%q, %d) = %q, want %q", name, in, bodyLines, out.String(), want)
			}
		}
	})
}

// RETR of a message larger than the write buffer, read by a slow client,
// arrives whole.
func TestRetrLargeMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var b strings.Builder
	b.WriteString("Subject: large\r\n\r\n")
	for i := 0; b.Len() < 300<<10; i++ { // over sqlite.InlineMax: a file blob
		fmt.Fprintf(&b, "line %d %s\r\n", i, strings.Repeat("z", 70))
	}
	e.deliver("alice@example.test", b.String())
	c := e.login(e.serve(), "alice@example.test")
	c.ok("RETR 1")
	c.Raw().SetReadDeadline(time.Now().Add(10 * time.Second))
	if got := c.rawBody(); got != b.String()+".\r\n" {
		t.Fatalf("large RETR: got %d bytes, want %d", len(got), b.Len()+3)
	}
}

// Pipelined RETRs (RFC 2449 §6.6), whose blobs the session opens together,
// are still answered one by one, in order: with an unknown, a repeated and
// a deleted message, a DELE and a TOP between them.
func TestPipelinedRetr(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, subject := range []string{"one", "two", "three"} {
		e.deliver("alice@example.test", msg(subject))
	}
	c := e.login(e.serve(), "alice@example.test")
	c.Raw().Write([]byte("RETR 1\r\nRETR 3\r\nRETR 9\r\nRETR 1\r\nDELE 2\r\nRETR 2\r\nTOP 3 0\r\nRETR 3\r\nRETR x\r\nRETR 2\r\n"))
	retr := func(subject string) {
		t.Helper()
		c.ok("")
		if body := strings.Join(c.body(), "\n"); !strings.Contains(body, "Subject: "+subject+"\n") {
			t.Fatalf("RETR of %q sent %q", subject, body)
		}
	}
	retr("one")
	retr("three")
	c.expect("", "-ERR No such message")
	retr("one")
	c.ok("")
	c.expect("", "-ERR Message already deleted")
	retr("three") // TOP 3 0
	retr("three")
	c.expect("", "-ERR Invalid message number")
	c.expect("", "-ERR Message already deleted")
	c.ok("QUIT")
}
