package imapwire

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func TestMUTF7(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ utf8, mutf7 string }{
		{"", ""},
		{"INBOX", "INBOX"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"}, // RFC 3501 §5.1.3
		{"&", "&-"},
		{"Tom & Jerry", "Tom &- Jerry"},
		{"☺", "&Jjo-"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"€uro", "&IKw-uro"},
		{"日本", "&ZeVnLA-"},
		{"😀", "&2D3eAA-"}, // surrogate pair
		{"a\tb", "a&AAk-b"},
		{"\x00", "&AAA-"},
		{"&&", "&-&-"},
		{"é&ü", "&AOk-&-&APw-"},
	} {
		if got := EncodeMUTF7(tc.utf8); got != tc.mutf7 {
			t.Errorf("EncodeMUTF7(%q) = %q, want %q", tc.utf8, got, tc.mutf7)
		}
		got, err := DecodeMUTF7(tc.mutf7)
		if err != nil || got != tc.utf8 {
			t.Errorf("DecodeMUTF7(%q) = %q, %v; want %q", tc.mutf7, got, err, tc.utf8)
		}
	}
	if got := EncodeMUTF7("a\xffb"); got != "a&,,0-b" {
		t.Errorf("invalid UTF-8 encodes as %q", got)
	}
}

func TestMUTF7Invalid(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"&",          // unterminated
		"&Jjo",       // unterminated
		"a&b",        // unterminated
		"&AGE-",      // "a" must not be encoded
		"&ACA-",      // nor SP
		"&Jjo-&Jjo-", // adjacent shifts must be merged
		"&Jj-",       // odd number of bytes
		"&Jjp-",      // non-zero padding bits
		"&Jjo=-",     // padding
		"&Jj/-",      // "/" instead of ","
		"&Jj\r\no-",  // base64 decoders skip CR LF; we must not
		"&2D0-",      // lone high surrogate
		"&3gA-",      // lone low surrogate
		"&2D0AYQ-",   // high surrogate then non-surrogate
		"&JjoA-",     // 3 bytes in 4 chars
		"台北",         // raw 8-bit
		"a\tb",       // raw control
		"a\x7fb",     // DEL
		"&&-",        // "&" inside a shift
		"&-&",        // trailing "&"
	} {
		if got, err := DecodeMUTF7(s); !errors.Is(err, ErrMUTF7) {
			t.Errorf("DecodeMUTF7(%q) = %q, %v; want error", s, got, err)
		}
	}
}

func FuzzMUTF7(f *testing.F) {
	for _, s := range []string{"INBOX", "~peter/mail/台北/日本語", "&", "Tom & Jerry", "😀 é\x00", "&Jjo-", "&U,BTFw-", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodeMUTF7(s)
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x20 || enc[i] > 0x7e {
				t.Fatalf("EncodeMUTF7(%q) = %q: not printable ASCII", s, enc)
			}
		}
		dec, err := DecodeMUTF7(enc)
		if err != nil {
			t.Fatalf("DecodeMUTF7(EncodeMUTF7(%q) = %q): %v", s, enc, err)
		}
		if utf8.ValidString(s) && dec != s {
			t.Fatalf("round trip %q → %q → %q", s, enc, dec)
		}
		// Only canonical encodings decode, so decoding then encoding is
		// the identity too.
		if d, err := DecodeMUTF7(s); err == nil {
			if again := EncodeMUTF7(d); again != s {
				t.Fatalf("DecodeMUTF7(%q) = %q, which encodes as %q", s, d, again)
			}
		}
	})
}
