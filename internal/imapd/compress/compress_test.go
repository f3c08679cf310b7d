package compress

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// readLineWithin reads one line from r, failing the test if it takes
// longer than a second (the decoder waiting for input it will never get).
func readLineWithin(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		line, _ := r.ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		return line
	case <-time.After(time.Second):
		t.Fatal("decoder blocked on a flushed command")
		return ""
	}
}

// Each flushed batch of our writer is decodable on its own, while the
// connection stays open.
func TestWriterFlushesEachBatch(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	w := NewWriter(pw)
	r := bufio.NewReader(NewReader(pr))
	for _, line := range []string{"* OK first\r\n", "a1 OK second\r\n"} {
		go func() {
			w.Write([]byte(line))
			w.Flush()
		}()
		if got := readLineWithin(t, r); got != line {
			t.Fatalf("got %q, want %q", got, line)
		}
	}
}

// A client that ends each command with zlib's Z_PARTIAL_FLUSH (as Apple
// Mail does) must have its command read at once. Python's zlib produces
// the bytes.
func TestReaderDecodesPartialFlush(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	script := `
import sys, zlib
c = zlib.compressobj(1, zlib.DEFLATED, -15)
out = c.compress(b"a1 NOOP\r\n") + c.flush(zlib.Z_PARTIAL_FLUSH)
out += c.compress(b"a2 SELECT INBOX\r\n") + c.flush(zlib.Z_PARTIAL_FLUSH)
sys.stdout.buffer.write(out)
`
	data, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	// The stream stays open after the flushed commands, as a client's does.
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(data)
	r := bufio.NewReader(NewReader(pr))
	for _, want := range []string{"a1 NOOP\r\n", "a2 SELECT INBOX\r\n"} {
		if got := readLineWithin(t, r); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestRoundTripLarge(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	msg := strings.Repeat("Subject: a long line of mail text\r\n", 10000)
	w.Write([]byte(msg))
	w.Close()
	if buf.Len() >= len(msg)/4 {
		t.Fatalf("compressed %d bytes to %d", len(msg), buf.Len())
	}
	got, err := io.ReadAll(NewReader(&buf))
	if err != nil || string(got) != msg {
		t.Fatalf("round trip: %v, %d bytes", err, len(got))
	}
}
