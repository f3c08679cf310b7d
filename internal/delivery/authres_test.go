package delivery

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func strip(t testing.TB, in string) string {
	t.Helper()
	out, err := io.ReadAll(StripAuthResults(strings.NewReader(in), "mx.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestStripAuthResults(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"ours removed, others kept",
			"Received: from a\r\nAuthentication-Results: mx.example.test; spf=pass\r\nAuthentication-Results: other.example; dkim=pass\r\nSubject: hi\r\n\r\nbody\r\n",
			"Received: from a\r\nAuthentication-Results: other.example; dkim=pass\r\nSubject: hi\r\n\r\nbody\r\n"},
		{"case, comment, version, folding",
			"authentication-results: (forged) MX.Example.Test 1;\r\n\tdmarc=pass\r\n header.from=x\r\nSubject: hi\r\n\r\nbody\r\n",
			"Subject: hi\r\n\r\nbody\r\n"},
		{"a longer id is not ours",
			"Authentication-Results: mx.example.test.evil; spf=pass\r\n\r\n",
			"Authentication-Results: mx.example.test.evil; spf=pass\r\n\r\n"},
		{"the body is never touched",
			"Subject: x\r\n\r\nAuthentication-Results: mx.example.test; spf=pass\r\n",
			"Subject: x\r\n\r\nAuthentication-Results: mx.example.test; spf=pass\r\n"},
		{"bare LF", "Authentication-Results: mx.example.test; x=y\nA: b\n\nc\n", "A: b\n\nc\n"},
		{"no body, EOF in the header", "A: b\r\nAuthentication-Results: mx.example.test; none", "A: b\r\n"},
		{"not a header at all", "no colon here\r\nAuthentication-Results: mx.example.test; none\r\n",
			"no colon here\r\nAuthentication-Results: mx.example.test; none\r\n"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := strip(t, c.in); got != c.want {
				t.Fatalf("got\n%q\nwant\n%q", got, c.want)
			}
			// The same through one-byte reads.
			out, err := io.ReadAll(StripAuthResults(iotest.OneByteReader(strings.NewReader(c.in)), "mx.example.test"))
			if err != nil || string(out) != c.want {
				t.Fatalf("one byte at a time: %q %v", out, err)
			}
		})
	}
}

// A field larger than the filter holds passes through unchanged, with
// everything after it.
func TestStripAuthResultsHugeField(t *testing.T) {
	huge := "X-Big: " + strings.Repeat("a", maxFilteredField+10) + "\r\n"
	in := huge + "Authentication-Results: mx.example.test; none\r\n\r\nbody"
	if got := strip(t, in); got != in {
		t.Fatalf("changed a message with a huge field (%d bytes in, %d out)", len(in), len(got))
	}
}

// FuzzStripAuthResults: the filter never fails, never adds bytes, leaves
// input without our authserv-id unchanged, and what it removes is whole
// header fields of ours.
func FuzzStripAuthResults(f *testing.F) {
	f.Add("Authentication-Results: mx.example.test; spf=pass\r\nA: b\r\n\r\nbody")
	f.Add("A: b\r\n (c\r\n\r\n")
	f.Add("Authentication-Results: (x\\) mx.example.test; y\n\tz\n")
	f.Fuzz(func(t *testing.T, in string) {
		out := strip(t, in)
		if len(out) > len(in) {
			t.Fatalf("grew: %q → %q", in, out)
		}
		if !strings.Contains(strings.ToLower(in), "mx.example.test") && out != in {
			t.Fatalf("changed input without our id: %q → %q", in, out)
		}
		if !bytes.HasSuffix([]byte(in), []byte(out[len(out)-min(len(out), 1):])) {
			t.Fatalf("the end changed: %q → %q", in, out)
		}
	})
}
