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
	for _, bad := range []string{"", "nobody", "@example.test", "a@", "a b@example.test", string(make([]byte, 65)) + "@x.test"} {
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
