package fetch

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

// read drains r and checks that it yields exactly n bytes.
func read(t testing.TB, r io.Reader, n int64) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if int64(len(b)) != n {
		t.Fatalf("reader gave %d bytes, Extract said %d", len(b), n)
	}
	return string(b)
}

func TestExtract(t *testing.T) {
	t.Parallel()
	header, text, _ := strings.Cut(mixed, "\r\n\r\n")
	header += "\r\n\r\n"
	for _, tc := range []struct {
		raw, spec, partial string
		binary             bool
		want               string
		err                error
	}{
		{raw: mixed, spec: "", want: mixed},
		{raw: mixed, spec: "TEXT", want: text},
		{raw: mixed, spec: "HEADER", want: header},
		{raw: mixed, spec: "HEADER.FIELDS (subject X-FOLDED)", want: "Subject: Report\r\nX-Folded: first\r\n second\r\n\r\n"},
		{raw: mixed, spec: "HEADER.FIELDS (Nope)", want: "\r\n"},
		{raw: mixed, spec: "HEADER.FIELDS.NOT (From To date MESSAGE-ID x-folded Content-Type)", want: "Subject: Report\r\n\r\n"},
		{raw: mixed, spec: "1", want: "See attached."},
		{raw: mixed, spec: "1.MIME", want: "\r\n"},
		{raw: mixed, spec: "2", want: crlf("--inner\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 =\nau lait=20\n--inner\nContent-Type: text/html; charset=utf-8\n\n<p>Cafe</p>\n--inner--\n")},
		{raw: mixed, spec: "2.1", want: "Caf=C3=A9 =\r\nau lait=20"},
		{raw: mixed, spec: "2.1.MIME", want: "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"},
		{raw: mixed, spec: "3.MIME", want: "Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n"},
		{raw: mixed, spec: "3.HEADER", want: "From: Carol <carol@example.net>\r\nSubject: Inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"},
		{raw: mixed, spec: "3.HEADER.FIELDS (SUBJECT)", want: "Subject: Inner\r\n\r\n"},
		{raw: mixed, spec: "3.TEXT", want: crlf("--i\n\ninner plain\n--i\nContent-Type: text/html\n\n<i>inner</i>\n--i--")},
		{raw: mixed, spec: "3.1", want: "inner plain"},
		{raw: mixed, spec: "3.2.MIME", want: "Content-Type: text/html\r\n\r\n"},
		{raw: mixed, spec: "4", want: "SGVsbG8s\r\nIHdvcmxkIQ=="},
		{raw: mixed, spec: "9", want: ""},
		{raw: mixed, spec: "1.1", want: ""},
		{raw: mixed, spec: "9.HEADER", want: ""},
		{raw: mixed, spec: "1.HEADER", err: ErrNotMessage},
		{raw: mixed, spec: "2.TEXT", err: ErrNotMessage},
		{raw: mixed, spec: "", partial: "<5.10>", want: mixed[5:15]},
		{raw: mixed, spec: "", partial: "<5.100000>", want: mixed[5:]},
		{raw: mixed, spec: "", partial: "<100000.10>", want: ""},
		{raw: mixed, spec: "HEADER.FIELDS (Subject)", partial: "<9.100>", want: "Report\r\n\r\n"},
		{raw: mixed, spec: "1", binary: true, want: "See attached."},
		{raw: mixed, spec: "2.1", binary: true, want: "Café au lait "},
		{raw: mixed, spec: "3", binary: true, want: mixed[strings.Index(mixed, "From: Carol") : strings.Index(mixed, "--i--")+5]},
		{raw: mixed, spec: "4", binary: true, want: "Hello, world!"},
		{raw: mixed, spec: "4", partial: "<7.100>", binary: true, want: "world!"},
		{raw: mixed, spec: "9", binary: true, want: ""},
		{raw: mixed, spec: "", binary: true, want: mixed},
		{raw: rfcText, spec: "1", want: rfcText[strings.Index(rfcText, "\r\n\r\n")+4:]},
		{raw: rfcText, spec: "1.MIME", want: rfcText[:strings.Index(rfcText, "\r\n\r\n")+4]},
		{raw: rfcText, spec: "1.TEXT", err: ErrNotMessage},
		{raw: crlf("Content-Type: message/rfc822\n\nSubject: in\n\nbody\n"), spec: "1.HEADER", want: "Subject: in\r\n\r\n"},
		{raw: crlf("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n"), spec: "1", binary: true, err: ErrUnknownCTE},
		{raw: crlf("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n"), spec: "1", want: "begin 644 x\r\n"},
		{raw: "Subject: no line break", spec: "HEADER.FIELDS (subject)", want: "Subject: no line break\r\n\r\n"},
	} {
		name := tc.spec + tc.partial
		if tc.binary {
			name = "BINARY " + name
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tc.raw)
			s, err := ParseSection(tc.spec, tc.partial)
			if err != nil {
				t.Fatal(err)
			}
			s.Binary = tc.binary
			r, n, err := Extract(strings.NewReader(tc.raw), int64(len(tc.raw)), p, s)
			if tc.err != nil || err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Extract: %v, want %v", err, tc.err)
				}
				return
			}
			if got := read(t, r, n); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestBinarySize(t *testing.T) {
	t.Parallel()
	p := mustParse(t, mixed)
	for _, tc := range []struct {
		path []int
		want int64
	}{
		{nil, int64(len(mixed))},
		{[]int{1}, 13},
		{[]int{2, 1}, int64(len("Café au lait "))},
		{[]int{3}, 171},
		{[]int{4}, 13},
		{[]int{9}, 0},
	} {
		got, err := BinarySize(strings.NewReader(mixed), int64(len(mixed)), p, tc.path)
		if err != nil || got != tc.want {
			t.Errorf("BinarySize(%v) = %d, %v; want %d", tc.path, got, err, tc.want)
		}
	}
	raw := crlf("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n")
	if _, err := BinarySize(strings.NewReader(raw), int64(len(raw)), mustParse(t, raw), []int{1}); !errors.Is(err, ErrUnknownCTE) {
		t.Errorf("BinarySize of x-uuencode: %v, want ErrUnknownCTE", err)
	}
}

func TestDecoders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		dec            func(io.Reader) io.Reader
	}{
		{"b64", "SGVsbG8=", "Hello", newBase64Reader},
		{"b64 lines and junk", "SGVs\r\n bG8*", "Hello", newBase64Reader},
		{"b64 unpadded tail", "SGVsbG8", "Hello", newBase64Reader},
		{"b64 concatenated", "SGk=SGk=", "HiHi", newBase64Reader},
		{"b64 one stray char", "SGVsbG8hZ", "Hello!", newBase64Reader},
		{"qp", "a=3Db=3db", "a=b=b", newQPReader},
		{"qp soft break", "long =  \r\nline=\nend=", "long lineend", newQPReader},
		{"qp trailing space", "a  \r\nb\t\nc  ", "a\r\nb\nc", newQPReader},
		{"qp bad escape kept", "50=% =G1=\r", "50=% =G1=\r", newQPReader},
		{"qp inner space", "a b\tc", "a b\tc", newQPReader},
		{"qp bare CR", "a \rb", "a \rb", newQPReader},
	} {
		got, err := io.ReadAll(tc.dec(strings.NewReader(tc.in)))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// countingReaderAt counts the bytes read from a blob.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestExtractStreams checks that a large message is streamed from the blob,
// not read into memory before the caller reads.
func TestExtractStreams(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("x", 1022) + "\r\n"
	raw := "Subject: big\r\n\r\n" + strings.Repeat(line, 5<<10) // 5 MiB body
	p := mustParse(t, raw)
	for _, spec := range []string{"", "TEXT", "1"} {
		blob := &countingReaderAt{r: strings.NewReader(raw)}
		s, _ := ParseSection(spec, "")
		r, n, err := Extract(blob, int64(len(raw)), p, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.(*io.SectionReader); !ok {
			t.Errorf("BODY[%s]: reader is %T, want *io.SectionReader", spec, r)
		}
		if got := blob.n.Load(); got != 0 {
			t.Errorf("BODY[%s]: %d bytes read before the reader was used", spec, got)
		}
		if m, _ := io.Copy(io.Discard, r); m != n || blob.n.Load() != n {
			t.Errorf("BODY[%s]: copied %d, read %d, want %d", spec, m, blob.n.Load(), n)
		}
	}
}

// TestExtractBinaryLarge checks the two-pass decoding of a part larger than
// memDecodeLimit.
func TestExtractBinaryLarge(t *testing.T) {
	t.Parallel()
	data := make([]byte, 1<<20) // 1.4 MiB encoded
	for i := range data {
		data[i] = byte(i * 7 >> 3)
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var body strings.Builder
	for len(enc) > 76 {
		body.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	body.WriteString(enc + "\r\n")
	raw := "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body.String()
	p := mustParse(t, raw)
	if p.Body.Size <= memDecodeLimit {
		t.Fatalf("body of %d bytes does not exercise the two-pass path", p.Body.Size)
	}
	blob := strings.NewReader(raw)
	size, err := BinarySize(blob, int64(len(raw)), p, []int{1})
	if err != nil || size != int64(len(data)) {
		t.Fatalf("BinarySize = %d, %v; want %d", size, err, len(data))
	}
	s, _ := ParseBinarySection("1", "<1000000.5000>")
	r, n, err := Extract(blob, int64(len(raw)), p, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, r, n); !bytes.Equal([]byte(got), data[1000000:1005000]) {
		t.Error("partial BINARY of a large part differs from the data")
	}
	s, _ = ParseBinarySection("1", "")
	r, n, _ = Extract(blob, int64(len(raw)), p, s)
	if got := read(t, r, n); !bytes.Equal([]byte(got), data) {
		t.Error("BINARY of a large part differs from the data")
	}
}
