package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// generator streams a message made of literal pieces and long runs of a
// repeated line, without ever holding it whole.
type generator struct {
	segs []segment
	hook func() // called on every Read
}

type segment struct {
	s     string // literal, or the line to repeat
	count int    // repetitions of s
	pos   int    // bytes of the current repetition already read
}

func (g *generator) Read(b []byte) (int, error) {
	if g.hook != nil {
		g.hook()
	}
	n := 0
	for n < len(b) && len(g.segs) > 0 {
		seg := &g.segs[0]
		c := copy(b[n:], seg.s[seg.pos:])
		n += c
		if seg.pos += c; seg.pos < len(seg.s) {
			break
		}
		seg.pos = 0
		if seg.count--; seg.count <= 0 {
			g.segs = g.segs[1:]
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// A 20 MiB message goes through with bounded memory and a capped Text. Not
// parallel: it measures the heap of the whole process.
func TestHugeMessageBoundedMemory(t *testing.T) {
	textLine := strings.Repeat("a", 100<<10) + "\r\n" // longer than the scanner buffer
	b64Line := strings.Repeat("QUJD", 19) + "\r\n"
	const textLines, b64Lines = 100, 140000
	header := "Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	part1 := "--b\r\nContent-Type: text/plain\r\n\r\n"
	part2 := "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	g := &generator{segs: []segment{
		{s: header + part1, count: 1}, {s: textLine, count: textLines}, {s: part2, count: 1},
		{s: b64Line, count: b64Lines}, {s: "--b--\r\n", count: 1},
	}}
	size := len(header) + len(part1) + textLines*len(textLine) + len(part2) + b64Lines*len(b64Line) + len("--b--\r\n")
	if size < 20<<20 {
		t.Fatalf("generated only %d bytes", size)
	}

	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	g.hook = func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	p, err := Parse(g)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("heap grew by %.1f MiB", float64(peak-base)/(1<<20))
	if grew := peak - base; grew > 16<<20 {
		t.Errorf("heap grew by %d MiB while parsing a %d MiB message", grew>>20, size>>20)
	}
	if p.Size != int64(size) || len(p.Text) > MaxTextSize {
		t.Errorf("Size %d (want %d), len(Text) %d", p.Size, size, len(p.Text))
	}
	text, bin := p.Body.Parts[0], p.Body.Parts[1]
	if text.Size != int64(textLines*len(textLine)-2) || text.Lines != textLines {
		t.Errorf("text part size %d lines %d", text.Size, text.Lines)
	}
	if bin.Size != int64(b64Lines*len(b64Line)-2) || bin.EndOffset != p.Size-int64(len("\r\n--b--\r\n")) {
		t.Errorf("attachment size %d end %d", bin.Size, bin.EndOffset)
	}
	if len(p.Preview) != MaxPreview {
		t.Errorf("Preview has %d bytes", len(p.Preview))
	}
}

func TestDeepNesting(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"multipart", "message"} {
		var b strings.Builder
		for i := range 1000 {
			if kind == "multipart" {
				fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
			} else {
				b.WriteString("Content-Type: message/rfc822\r\n\r\n")
			}
		}
		b.WriteString("\r\nleaf\r\n")
		p := mustParse(t, b.String())
		depth := 0
		for part := p.Body; part != nil; depth++ {
			switch {
			case len(part.Parts) > 0:
				part = part.Parts[0]
			default:
				part = part.Message
			}
		}
		if depth != MaxDepth+1 {
			t.Errorf("%s: depth %d, want %d", kind, depth, MaxDepth+1)
		}
	}
}

func TestManyParts(t *testing.T) {
	t.Parallel()
	raw := "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", MaxParts+100) + "--b--\r\n"
	p := mustParse(t, raw)
	if n := len(p.Body.Parts); n != MaxParts-1 {
		t.Errorf("%d parts kept, want %d", n, MaxParts-1)
	}
}

func TestHugeHeader(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Subject: " + strings.Repeat("s", 1<<20) + "\r\n")
	for i := range 2 * MaxHeaderFields {
		fmt.Fprintf(&b, "X-%d: v\r\n", i)
	}
	b.WriteString("\r\nbody")
	raw := b.String()
	p := mustParse(t, raw)
	if len(p.Envelope.Subject) != MaxFieldSize || len(p.Headers) != MaxHeaderFields {
		t.Errorf("Subject %d bytes, %d header fields", len(p.Envelope.Subject), len(p.Headers))
	}
	if raw[p.HeaderSize:] != "body" {
		t.Errorf("HeaderSize %d", p.HeaderSize)
	}
}

type failingReader struct{ r io.Reader }

var errBroken = errors.New("connection lost")

func (f failingReader) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if err == io.EOF {
		return n, errBroken
	}
	return n, err
}

func TestReadError(t *testing.T) {
	t.Parallel()
	r := failingReader{strings.NewReader("Subject: x\r\n\r\nbody")}
	if _, err := Parse(r); !errors.Is(err, errBroken) {
		t.Errorf("Parse: %v, want %v", err, errBroken)
	}
}

// The store keeps Parsed as JSON: it must encode and come back the same.
func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range structureCases {
		p := mustParse(t, tc.raw)
		enc, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var back Parsed
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		again, _ := json.Marshal(&back)
		if !bytes.Equal(enc, again) {
			t.Errorf("%s: JSON round trip differs:\n%s\n%s", tc.name, enc, again)
		}
	}
}
