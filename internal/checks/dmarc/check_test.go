package dmarc

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
	mdns "github.com/miekg/dns"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/message"
)

// policies is the zone of the check's tests.
var policies = []string{
	txt("reject.example", "v=DMARC1; p=reject"),
	txt("quar.example", "v=DMARC1; p=quarantine"),
	txt("none.example", "v=DMARC1; p=none"),
	txt("strict.example", "v=DMARC1; p=reject; adkim=s; aspf=s"),
	txt("test.example", "v=DMARC1; p=reject; t=y"),
	txt("pct.example", "v=DMARC1; p=reject; pct=0"),
	txt("np.example", "v=DMARC1; p=none; sp=none; np=reject"),
	"exists.np.example. 300 IN A 192.0.2.1",
	txt("invalid.example", "v=DMARC1; p=maybe"),
}

// testResolver serves policies, with SERVFAIL for _dmarc.broken.example
// and no answer for _dmarc.slow.example.
func testResolver(t *testing.T) *dns.Client {
	srv, c := zone(t, policies...)
	srv.Fail("_dmarc.broken.example", mdns.RcodeServerFailure)
	srv.Drop("_dmarc.slow.example")
	return c
}

// newMessage is a received message with header.
func newMessage(t *testing.T, header string) *delivery.Message {
	t.Helper()
	p, err := message.Parse(strings.NewReader(header + "\r\n\r\nHello.\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return &delivery.Message{Received: delivery.Received{Parsed: p}}
}

func spf(v authres.ResultValue, mailFrom string) *authres.SPFResult {
	return &authres.SPFResult{Value: v, From: mailFrom}
}

func dkim(v authres.ResultValue, d string) *authres.DKIMResult {
	return &authres.DKIMResult{Value: v, Domain: d}
}

var (
	pass = authres.ResultValue(authres.ResultPass)
	fail = authres.ResultValue(authres.ResultFail)
	temp = authres.ResultValue(authres.ResultTempError)
)

func TestCheck(t *testing.T) {
	t.Parallel()
	c := New(testResolver(t))
	c.Enforce = true
	tests := []struct {
		name, header string
		results      []authres.Result
		code         int    // of the reply; 0 for none
		folder       string // of the verdict
		dmarc        string // the dmarc results, comma-separated
		err          bool
	}{
		{"p=reject, nothing aligned", "From: a@reject.example",
			[]authres.Result{spf(pass, "x@other.test"), dkim(pass, "other.test")}, 550, "", "fail", false},
		{"p=quarantine", "From: <a@Quar.Example>", nil, 0, "Junk", "fail", false},
		{"DKIM aligned though SPF fails", "From: a@news.reject.example",
			[]authres.Result{spf(fail, "x@reject.example"), dkim(pass, "reject.example")}, 0, "", "pass", false},
		{"SPF relaxed alignment", "From: a@reject.example",
			[]authres.Result{spf(pass, "b@bounce.reject.example")}, 0, "", "pass", false},
		{"strict alignment wants the same name", "From: a@strict.example",
			[]authres.Result{spf(pass, "b@bounce.strict.example"), dkim(pass, "mail.strict.example")}, 550, "", "fail", false},
		{"strict alignment with the same name", "From: a@strict.example",
			[]authres.Result{dkim(fail, "strict.example"), dkim(pass, "strict.example")}, 0, "", "pass", false},
		{"t=y applies one level below", "From: a@test.example", nil, 0, "Junk", "fail", false},
		{"sampled out by pct=0", "From: a@pct.example", nil, 0, "Junk", "fail", false},
		{"np for a domain that does not exist", "From: a@ghost.np.example", nil, 550, "", "fail", false},
		{"sp for a domain that exists", "From: a@exists.np.example", nil, 0, "", "fail", false},
		{"no policy", "From: a@nopolicy.test", nil, 0, "", "none", false},
		{"invalid record", "From: a@invalid.example", nil, 0, "", "permerror", false},
		{"no From", "Subject: hi", nil, 0, "", "none", false},
		{"the strictest of several From domains", "From: a@none.example, b@reject.example", nil, 550, "", "fail,fail", false},
		{"several From fields", "From: a@none.example\r\nFrom: b@quar.example", nil, 0, "Junk", "fail,fail", false},
		{"too many From domains", "From: a@a.test, b@b.test, c@c.test, d@d.test, e@e.test, f@f.test", nil, 0, "Junk", "permerror", false},
		{"aligned SPF temperror", "From: a@reject.example", []authres.Result{spf(temp, "b@reject.example")}, 0, "", "temperror", true},
		{"unaligned SPF temperror", "From: a@reject.example", []authres.Result{spf(temp, "b@evil.test")}, 550, "", "fail", false},
		{"SERVFAIL", "From: a@broken.example", nil, 0, "", "temperror", true},
		{"timeout", "From: a@slow.example", nil, 0, "", "temperror", true},
		{"one domain's DNS failure holds the message", "From: a@reject.example, b@broken.example",
			[]authres.Result{dkim(pass, "reject.example")}, 0, "", "pass,temperror", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tx := &delivery.Transaction{Conn: &delivery.Conn{IP: netip.MustParseAddr("192.0.2.7")}, Results: tt.results}
			v, err := c.Data(context.Background(), tx, newMessage(t, tt.header))
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want one: %v", err, tt.err)
			}
			if code := replyCode(v); code != tt.code || v.Folder != tt.folder {
				t.Errorf("reply %v, folder %q; want %d, %q", v.Reply, v.Folder, tt.code, tt.folder)
			}
			if v.Reply != nil && v.Reply.Enhanced != [3]int{5, 7, 1} {
				t.Errorf("enhanced code %v", v.Reply.Enhanced)
			}
			if got := dmarcValues(v.Results); got != tt.dmarc {
				t.Errorf("dmarc results %s, want %s", got, tt.dmarc)
			}
		})
	}
}

func replyCode(v delivery.Verdict) int {
	if v.Reply == nil {
		return 0
	}
	return v.Reply.Code
}

func dmarcValues(rs []authres.Result) string {
	var s []string
	for _, r := range rs {
		if d, ok := r.(*authres.DMARCResult); ok {
			s = append(s, string(d.Value))
		}
	}
	return strings.Join(s, ",")
}

// TestPipeline runs the check where smtpd does, through delivery.Checks:
// the SMTP reply and the Authentication-Results field.
func TestPipeline(t *testing.T) {
	t.Parallel()
	r := testResolver(t)
	c := New(r)
	c.Enforce = true
	checks := delivery.NewChecks("mx.test", nil, c)
	ctx := context.Background()

	tx := &delivery.Transaction{From: "x@other.test", Results: []authres.Result{spf(pass, "x@other.test")}}
	reply := checks.Data(ctx, tx, newMessage(t, "From: Boss <boss@reject.example>"))
	if reply == nil || reply.Error() == "" || reply.Code != 550 || !strings.Contains(reply.Message, "DMARC policy of reject.example") {
		t.Fatalf("reply %v", reply)
	}
	want := "Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=x@other.test;\r\n\t" +
		`dmarc=fail reason="p=reject sp=reject dis=reject" header.from=reject.example`
	if got := checks.AuthenticationResults(tx); got != want {
		t.Errorf("Authentication-Results:\n%s\nwant\n%s", got, want)
	}

	tx = &delivery.Transaction{}
	if reply := checks.Data(ctx, tx, newMessage(t, "From: a@broken.example")); reply == nil || reply.Code != 451 || reply.Enhanced != [3]int{4, 4, 3} {
		t.Errorf("SERVFAIL: %v, want 451 4.4.3", reply)
	}

	open := &Check{Resolver: r, Enforce: true} // TempfailOnDNSError off: fail open
	tx = &delivery.Transaction{}
	if reply := delivery.NewChecks("mx.test", nil, open).Data(ctx, tx, newMessage(t, "From: a@slow.example")); reply != nil {
		t.Errorf("failing open: %v", reply)
	}
	if got := dmarcValues(tx.Results); got != "temperror" {
		t.Errorf("failing open records %q", got)
	}
}

func TestRecordOnly(t *testing.T) {
	t.Parallel()
	c := New(testResolver(t)) // Enforce off
	v, err := c.Data(context.Background(), &delivery.Transaction{}, newMessage(t, "From: a@reject.example"))
	if err != nil || v.Reply != nil || v.Folder != "" {
		t.Fatalf("%+v %v", v, err)
	}
	if d := v.Results[0].(*authres.DMARCResult); d.Value != fail || d.Reason != "p=reject sp=reject dis=none override=local_policy" {
		t.Errorf("%+v", d)
	}
}

func TestSampling(t *testing.T) {
	t.Parallel()
	_, r := zone(t, txt("half.example", "v=DMARC1; p=reject; pct=50"))
	for _, in := range []bool{true, false} {
		var asked int
		c := &Check{Resolver: r, Enforce: true, sample: func(pct int) bool { asked = pct; return in }}
		v, _ := c.Data(context.Background(), &delivery.Transaction{}, newMessage(t, "From: a@half.example"))
		if asked != 50 || (in && replyCode(v) != 550) || (!in && v.Folder != "Junk") {
			t.Errorf("selected %v: asked %d, %+v", in, asked, v)
		}
	}
}

type recorder []Evaluation

func (r *recorder) RecordDMARC(_ context.Context, ev Evaluation) error {
	*r = append(*r, ev)
	return nil
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	var rec recorder
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &Check{Resolver: testResolver(t), Enforce: true, Recorder: &rec, now: func() time.Time { return now }}
	ip := netip.MustParseAddr("2001:db8::25")
	tx := &delivery.Transaction{Conn: &delivery.Conn{IP: ip}, From: "b@bounce.quar.example",
		Results: []authres.Result{spf(pass, "b@bounce.quar.example"), dkim(fail, "quar.example")}}
	if _, err := c.Data(context.Background(), tx, newMessage(t, "From: a@x.quar.example, b@nopolicy.test")); err != nil {
		t.Fatal(err)
	}
	r, _ := Parse("v=DMARC1; p=quarantine")
	want := []Evaluation{{Time: now, SourceIP: ip, HeaderFrom: "x.quar.example", PolicyDomain: "quar.example",
		Record: *r, Result: pass, Disposition: PolicyNone, SPFAligned: true,
		DKIM: []DKIMAuth{{Domain: "quar.example", Result: fail}},
		SPF:  SPFAuth{Domain: "bounce.quar.example", Scope: "mfrom", Result: pass}}}
	if !reflect.DeepEqual([]Evaluation(rec), want) {
		t.Errorf("recorded\n%+v\nwant\n%+v", rec, want)
	}
}

func TestAuthorDomains(t *testing.T) {
	t.Parallel()
	for header, want := range map[string][]string{
		"From: a@B\u00fccher.Example, \"x@evil.test\" <b@b\u00fccher.example>": {"xn--bcher-kva.example"},
		"From: undisclosed-recipients:;":                                       nil,
		"From: a@[192.0.2.1]":                                                  nil,
		"From: a@one.example\r\nFrom: <<c@two.example":                         {"one.example", "two.example"},
		"From: a@one.example\r\nfrom: Two <b@two.example>, c@one.example":      {"one.example", "two.example"},
	} {
		if got := authorDomains(newMessage(t, header).Parsed); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q, want %q", header, got, want)
		}
	}
}
