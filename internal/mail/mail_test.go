package mail

import "testing"

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, key, base string }{
		{"Alice@Example.TEST", "alice@example.test", "alice@example.test"},
		{"bob+lists@example.test", "bob+lists@example.test", "bob@example.test"},
		{"x@xn--bcher-kva.example", "x@bücher.example", "x@bücher.example"},
		{"jörg@bücher.example.", "jörg@bücher.example", "jörg@bücher.example"},
	} {
		a, err := ParseAddress(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		base, _ := a.StripTag()
		if a.Key() != tc.key || base.Key() != tc.base {
			t.Errorf("%q: key %q base %q", tc.in, a.Key(), base.Key())
		}
	}
	for _, bad := range []string{"", "nobody", "@example.test", "a@", "a b@example.test", string(make([]byte, 65)) + "@x.test",
		"a\x00b@example.test", "a\x7fb@example.test", "a\tb@example.test", "a@exa\x00mple.test",
		"a@evil..test", "a@..", "a@.", "a@-x.test", "a@x-.test", "a@x_y.test", "a@x/y.test"} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAsErrorNeverInventsAPermanentFailure(t *testing.T) {
	if e := AsError(errString("disk on fire")); e.Code != 451 || !e.Temporary() {
		t.Fatalf("unknown error became %v", e)
	}
	if e := AsError(ErrNoSuchUser); e.Code != 550 || e.Temporary() {
		t.Fatalf("ErrNoSuchUser became %v", e)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestNormalizeDomainRefusesWhatIsNotAHostname(t *testing.T) {
	for _, bad := range []string{"..", ".", "evil..test", ".test", "a/../b.test", "x\x00.test", "-a.test", string(make([]byte, 64)) + ".test"} {
		if d, err := NormalizeDomain(bad); err == nil {
			t.Errorf("%q accepted as %q", bad, d)
		}
	}
	for in, want := range map[string]string{"Example.TEST.": "example.test", "xn--bcher-kva.example": "bücher.example", "a-1.b2.test": "a-1.b2.test"} {
		if d, err := NormalizeDomain(in); err != nil || d != want {
			t.Errorf("%q: %q, %v; want %q", in, d, err, want)
		}
	}
}
