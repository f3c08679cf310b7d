package arc

import (
	"bufio"
	"crypto/sha256"
	"strings"
	"testing"
)

// The example of RFC 6376 §3.4.5.
func TestCanonicalization(t *testing.T) {
	for raw, want := range map[string]string{"A: X\r\n": "a:X\r\n", "B : Y\t\r\n\tZ  \r\n": "b:Y Z\r\n"} {
		if got := relaxedHeader(raw); got != want {
			t.Errorf("relaxed %q: %q, want %q", raw, got, want)
		}
	}
	body := " C \r\nD \t E\r\n\r\n\r\n"
	for _, tc := range []struct {
		body string
		key  bodyKey
		want string
	}{
		{body, bodyKey{relaxed: true, limit: -1}, " C\r\nD E\r\n"},
		{body, bodyKey{relaxed: false, limit: -1}, " C \r\nD \t E\r\n"},
		{body, bodyKey{relaxed: true, limit: 4}, " C\r\n"},
		{"", bodyKey{relaxed: false, limit: -1}, "\r\n"}, // §3.4.3: an empty body is one CRLF
		{"", bodyKey{relaxed: true, limit: -1}, ""},      // §3.4.4: and nothing, relaxed
		{"\r\n \r\n", bodyKey{relaxed: true, limit: -1}, ""},
		{"no end", bodyKey{relaxed: false, limit: -1}, "no end\r\n"},
		{"lf\nonly\n", bodyKey{relaxed: false, limit: -1}, "lf\r\nonly\r\n"},
		{strings.Repeat("x", 10000) + " \r\n", bodyKey{relaxed: true, limit: -1}, strings.Repeat("x", 10000) + "\r\n"},
	} {
		got, err := bodyHashes(bufio.NewReaderSize(strings.NewReader(tc.body), 16), []bodyKey{tc.key})
		want := sha256.Sum256([]byte(tc.want))
		if err != nil || string(got[tc.key]) != string(want[:]) {
			t.Errorf("%q %+v: not the hash of %q (%v)", tc.body, tc.key, tc.want, err)
		}
	}
}

func TestWithoutB(t *testing.T) {
	for raw, want := range map[string]string{
		"ARC-Seal: i=1; bh=abc; b=xy\r\n\tz\r\n":    "ARC-Seal: i=1; bh=abc; b=",
		"ARC-Seal: b = xyz ; i=1; d=e\r\n":          "ARC-Seal: b =; i=1; d=e\r\n",
		"ARC-Seal: i=1;\r\n\tb=xyz;\r\n\ts=sel\r\n": "ARC-Seal: i=1;\r\n\tb=;\r\n\ts=sel\r\n",
	} {
		if got := withoutB(raw); got != want {
			t.Errorf("%q: %q, want %q", raw, got, want)
		}
	}
}

func TestParseTags(t *testing.T) {
	tags, err := parseTags(" i=1;\r\n\ta = rsa-sha256 ; h=From :\r\n To;")
	if err != nil || tags["i"] != "1" || tags["a"] != "rsa-sha256" || strings.Join(signedNames(tags["h"]), ",") != "From,To" {
		t.Fatalf("%v %v", tags, err)
	}
	for _, bad := range []string{"i=1; i=2", "novalue", "1x=2", "=3"} {
		if _, err := parseTags(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
