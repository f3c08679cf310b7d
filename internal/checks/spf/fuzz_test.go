package spf

import (
	"context"
	"net/netip"
	"slices"
	"testing"
)

// FuzzCheckHost serves arbitrary text as a TXT record: as the SPF record of
// fuzz.example, reached directly, through redirect and include, and as the
// explanation text of a fail. Whatever the text, the result must be one of
// RFC 7208's, without a panic. Seeds are in testdata/fuzz/FuzzCheckHost;
// run with go test -fuzz=FuzzCheckHost ./internal/checks/spf.
func FuzzCheckHost(f *testing.F) {
	f.Add("v=spf1 a mx ptr include:other.example -all exp=fuzz.example")
	f.Fuzz(func(t *testing.T, txt string) {
		d := fuzzZone(txt)
		c := &Checker{Resolver: d}
		ctx := context.Background()
		for _, ip := range []string{"192.0.2.1", "2001:db8::1", "198.51.100.9"} {
			for _, domain := range []string{"fuzz.example", "redirect.example", "explain.example"} {
				checkFuzzResult(t, c.CheckHost(ctx, netip.MustParseAddr(ip), domain, "user@"+domain, "mail.fuzz.example"))
			}
		}
	})
}

func fuzzZone(txt string) *fakeDNS {
	d := newFakeDNS()
	d.add("fuzz.example", "TXT", txt)
	d.addRR("fuzz.example", fakeRR{typ: "MX", pref: 10, data: "mail.fuzz.example"})
	d.add("fuzz.example", "A", "192.0.2.1")
	d.add("mail.fuzz.example", "A", "192.0.2.1")
	d.add("mail.fuzz.example", "AAAA", "2001:db8::1")
	d.add("1.2.0.192.in-addr.arpa", "PTR", "mail.fuzz.example")
	d.add("other.example", "TXT", "v=spf1 ip4:198.51.100.0/24 include:fuzz.example ?all")
	d.add("redirect.example", "TXT", "v=spf1 include:other.example redirect=fuzz.example")
	d.add("explain.example", "TXT", "v=spf1 -all exp=fuzz.example")
	d.add("timeout.fuzz.example", "TIMEOUT", "")
	return d
}

func checkFuzzResult(t *testing.T, r Result) {
	t.Helper()
	valid := []string{None, Neutral, Pass, Fail, SoftFail, TempError, PermError}
	if !slices.Contains(valid, r.Result) || r.Reason == "" || r.Domain == "" {
		t.Fatalf("result %+v", r)
	}
	if r.Explanation != "" && r.Result != Fail {
		t.Fatalf("explanation for a %s: %+v", r.Result, r)
	}
}
