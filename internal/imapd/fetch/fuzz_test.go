package fetch

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/message"
)

// FuzzSection checks that ParseSection never panics and that what Name
// echoes parses back to the same section.
func FuzzSection(f *testing.F) {
	for _, s := range []string{"", "HEADER", "TEXT", "1.2.MIME", "1.2.HEADER.FIELDS (From To)", `HEADER.FIELDS.NOT ("a b" {3}` + "\r\nc)d)", "3.TEXT", "0", "1..", "HEADER.FIELDS ()"} {
		f.Add(s, "")
		f.Add(s, "<5.10>")
	}
	f.Fuzz(func(t *testing.T, spec, partial string) {
		s, err := ParseSection(spec, partial)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		name := s.Name()
		inner, _, ok := strings.Cut(strings.TrimPrefix(name, "BODY["), "]<")
		if !ok {
			inner = strings.TrimSuffix(strings.TrimPrefix(name, "BODY["), "]")
		}
		again, err := ParseSection(inner, "")
		if err != nil {
			t.Fatalf("Name %q does not parse: %v", name, err)
		}
		s.Partial, s.Offset, s.Count = false, 0, 0
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("Name %q parses as %+v, want %+v", name, again, s)
		}
	})
}

// FuzzExtract parses arbitrary messages and extracts every section of
// every part: no panic, and each reader yields exactly the announced size.
func FuzzExtract(f *testing.F) {
	f.Add([]byte(mixed), int64(3), int64(40))
	f.Add([]byte(rfcText), int64(0), int64(1))
	f.Add([]byte(crlf("Content-Type: message/rfc822\n\nContent-Transfer-Encoding: base64\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: quoted-printable\n\na=\n=3D\n--b--\n")), int64(1), int64(2))
	f.Fuzz(func(t *testing.T, raw []byte, off, cnt int64) {
		p, err := message.Parse(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		blob := bytes.NewReader(raw)
		size := int64(len(raw))
		_ = AppendBodyStructure(nil, p.Body, true, false)
		_ = AppendEnvelope(nil, &p.Envelope, true)
		for _, path := range partPaths(p.Body, 200) {
			specs := []Section{
				{Path: path},
				{Path: path, Specifier: SpecMIME},
				{Path: path, Specifier: SpecHeader},
				{Path: path, Specifier: SpecText},
				{Path: path, Specifier: SpecHeaderFields, Fields: []string{"subject", "Content-Type"}},
				{Path: path, Specifier: SpecHeaderFieldsNot, Fields: []string{"from"}},
				{Path: path, Binary: true},
				{Path: path, Partial: true, Offset: off, Count: cnt},
				{Path: path, Binary: true, Partial: true, Offset: off, Count: cnt},
			}
			for _, s := range specs {
				r, n, err := Extract(blob, size, p, s)
				if err != nil {
					if errors.Is(err, ErrNotMessage) || errors.Is(err, ErrUnknownCTE) || errors.Is(err, ErrSyntax) {
						continue
					}
					t.Fatalf("%s: %v", s.Name(), err)
				}
				m, err := io.Copy(io.Discard, r)
				if err != nil || m != n {
					t.Fatalf("%s: read %d bytes (%v), Extract said %d", s.Name(), m, err, n)
				}
				if s.Binary && !s.Partial {
					bs, err := BinarySize(blob, size, p, path)
					if err != nil || bs != n {
						t.Fatalf("%s: BinarySize %d (%v), Extract %d", s.Name(), bs, err, n)
					}
				}
			}
		}
	})
}

// partPaths lists the section paths of a message, the empty one first, and
// one path past the last part at each level, at most limit of them.
func partPaths(top *message.Part, limit int) [][]int {
	paths := [][]int{nil}
	for i := 0; i < len(paths) && len(paths) < limit; i++ {
		if i > 0 && top.Section(paths[i]...) == nil {
			continue
		}
		for n := 1; len(paths) < limit; n++ {
			child := append(append([]int(nil), paths[i]...), n)
			paths = append(paths, child)
			if top.Section(child...) == nil {
				break
			}
		}
	}
	return paths
}

// FuzzConvertBinary converts every part of arbitrary messages as
// URLFETCH BINARY does: no panic, a structure for every path that names a
// part, and a leaf's conversion is what BINARY[path] extracts.
func FuzzConvertBinary(f *testing.F) {
	f.Add([]byte(mixed))
	f.Add([]byte(crlf("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\n" +
		"Content-Type: multipart/alternative; boundary=i\n\n--i\nContent-Transfer-Encoding: base64\n\naGVs\nbG8=\n--i--\n--o--\n")))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := message.Parse(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		blob, size := bytes.NewReader(raw), int64(len(raw))
		for _, path := range partPaths(p.Body, 100) {
			out, st, err := ConvertBinary(blob, size, p, Section{Path: path})
			if errors.Is(err, ErrUnknownCTE) {
				continue
			}
			if err != nil {
				t.Fatalf("%v: %v", path, err)
			}
			part := p.Body
			if len(path) > 0 {
				part = p.Body.Section(path...)
			}
			if (part == nil) != (st == nil) {
				t.Fatalf("%v: part %v, structure %v", path, part != nil, st != nil)
			}
			if part == nil || part.Message != nil || len(part.Parts) > 0 || len(path) == 0 {
				continue
			}
			r, n, err := Extract(blob, size, p, Section{Path: path, Binary: true})
			if err != nil {
				t.Fatalf("%v: Extract %v", path, err)
			}
			want, _ := io.ReadAll(r)
			if int64(len(out)) != n || !bytes.Equal(out, want) {
				t.Fatalf("%v: converted %q, BINARY %q", path, out, want)
			}
		}
	})
}
