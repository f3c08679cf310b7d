package dmarc

import (
	"errors"
	"reflect"
	"testing"
)

// with is the default record changed by f.
func with(f func(r *Record)) *Record {
	r := defaultRecord()
	f(r)
	return r
}

var parseTests = []struct {
	name, txt string
	want      *Record
	err       error
}{
	{"minimal", "v=DMARC1; p=reject", with(func(r *Record) { r.Policy = PolicyReject }), nil},
	{"every tag",
		"v=DMARC1; p=quarantine; sp=reject; np=none; adkim=s; aspf=s; pct=50; t=y; psd=n; " +
			"rua=mailto:agg@example.org!10m, mailto:b@example.net; ruf=mailto:f@example.org; fo=0:d; rf=afrf; ri=3600",
		with(func(r *Record) {
			r.Policy, r.SubdomainPolicy, r.NonexistentPolicy = PolicyQuarantine, PolicyReject, PolicyNone
			r.DKIMAlignment, r.SPFAlignment, r.Percent, r.Testing, r.PSD = Strict, Strict, 50, true, "n"
			r.AggregateURIs = []URI{{"mailto:agg@example.org", 10 << 20}, {"mailto:b@example.net", 0}}
			r.FailureURIs = []URI{{"mailto:f@example.org", 0}}
			r.FailureOptions, r.ReportInterval = []string{"0", "d"}, 3600
		}), nil},
	{"unknown tags ignored", "v=DMARC1; foo=bar; p=reject; x=1; 9z=2",
		with(func(r *Record) { r.Policy = PolicyReject }), nil},
	{"absent p is none", "v=DMARC1; adkim=s", with(func(r *Record) { r.DKIMAlignment = Strict }), nil},
	{"white space", " v = DMARC1 ;\tp = reject ; sp=none ;  ",
		with(func(r *Record) { r.Policy, r.SubdomainPolicy = PolicyReject, PolicyNone }), nil},
	{"case of names and values", "V=DMARC1; P=Reject; ADKIM=S; Psd=Y",
		with(func(r *Record) { r.Policy, r.DKIMAlignment, r.PSD = PolicyReject, Strict, "y" }), nil},
	{"malformed values take defaults", "v=DMARC1; p=reject; pct=150; adkim=x; ri=-1; fo=2; t=maybe; psd=q; rf=a+b",
		with(func(r *Record) { r.Policy = PolicyReject }), nil},
	{"repeated tag keeps the first", "v=DMARC1; p=reject; p=none", with(func(r *Record) { r.Policy = PolicyReject }), nil},
	{"size units and bad URIs", "v=DMARC1; p=none; rua=mailto:a@x.example!1k,mailto:b@x.example!2G,c@x.example,mailto:d@x.example!k,mailto:e@x.example!1x",
		with(func(r *Record) {
			r.AggregateURIs = []URI{{"mailto:a@x.example", 1 << 10}, {"mailto:b@x.example", 2 << 30}}
		}), nil},
	{"bad p with valid rua is p=none", "v=DMARC1; p=bogus; sp=reject; rua=mailto:a@example.org",
		with(func(r *Record) { r.AggregateURIs = []URI{{"mailto:a@example.org", 0}} }), nil},
	{"bad sp without rua", "v=DMARC1; p=reject; sp=yes", nil, ErrPolicy},
	{"bad np with only invalid rua", "v=DMARC1; p=reject; np=x; rua=a@example.org", nil, ErrPolicy},
	{"empty p", "v=DMARC1; p=; rua=", nil, ErrPolicy},
	{"version not first", "p=reject; v=DMARC1", nil, ErrNotDMARC},
	{"version case-sensitive", "v=dmarc1; p=reject", nil, ErrNotDMARC},
	{"other version", "v=DMARC2; p=reject", nil, ErrNotDMARC},
	{"SPF record", "v=spf1 -all", nil, ErrNotDMARC},
	{"empty", "", nil, ErrNotDMARC},
	{"glued tags", "v=DMARC1p=reject", nil, ErrNotDMARC},
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range parseTests {
		got, err := Parse(tt.txt)
		if !errors.Is(err, tt.err) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Parse(%q) = %+v, %v; want %+v, %v", tt.name, tt.txt, got, err, tt.want, tt.err)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tt := range parseTests {
		if tt.want == nil {
			continue
		}
		s := tt.want.String()
		if got, err := Parse(s); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Parse(%q) = %+v, %v", tt.name, s, got, err)
		}
	}
	if s := with(func(r *Record) { r.Policy = PolicyReject }).String(); s != "v=DMARC1; p=reject" {
		t.Errorf("String of a minimal record: %q", s)
	}
}

func TestPolicyFor(t *testing.T) {
	t.Parallel()
	r := &Record{Policy: PolicyReject}
	if r.policyFor(true, true) != PolicyReject {
		t.Error("without sp and np, p applies below the policy domain")
	}
	r.SubdomainPolicy = PolicyQuarantine
	if r.policyFor(false, false) != PolicyReject || r.policyFor(true, false) != PolicyQuarantine || r.policyFor(true, true) != PolicyQuarantine {
		t.Error("sp applies to subdomains, existing or not, when np is absent")
	}
	r.NonexistentPolicy = PolicyNone
	if r.policyFor(true, true) != PolicyNone || r.policyFor(true, false) != PolicyQuarantine {
		t.Error("np applies to non-existent subdomains only")
	}
}
