package dmarcreport

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/checks/dmarc"
	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/dns/dnstest"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/testutil/fixture"
)

// day is the UTC day the tests' evaluations are made on.
var day = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

// evaluation is a DMARC pass of mail from header.test's domain under
// the record txt, from ip at hour h of day.
func evaluation(t testing.TB, domain, txt, ip string, h int) dmarc.Evaluation {
	t.Helper()
	rec, err := dmarc.Parse(txt)
	if err != nil {
		t.Fatal(err)
	}
	return dmarc.Evaluation{Time: day.Add(time.Duration(h) * time.Hour), SourceIP: netip.MustParseAddr(ip),
		HeaderFrom: domain, PolicyDomain: domain, Record: *rec, Result: authres.ResultPass,
		Disposition: dmarc.PolicyNone, DKIMAligned: true,
		DKIM: []dmarc.DKIMAuth{{Domain: domain, Selector: "ed", Result: authres.ResultPass}},
		SPF:  dmarc.SPFAuth{Domain: "bounce." + domain, Scope: "mfrom", Result: authres.ResultSoftFail}}
}

// failing is a DMARC failure rejected under the policy.
func failing(t testing.TB, domain, txt, ip string, h int) dmarc.Evaluation {
	ev := evaluation(t, domain, txt, ip, h)
	ev.Result, ev.Disposition, ev.DKIMAligned, ev.DKIM = authres.ResultFail, dmarc.PolicyReject, false, nil
	ev.SPF.Result = authres.ResultFail
	return ev
}

// env is a store with example.test (alice, bob), a pipeline over it and
// a DNS server.
type env struct {
	t     *testing.T
	store store.Store
	users []store.Account
	pipe  *delivery.Pipeline
	dns   *dnstest.Server
	res   dns.Resolver
}

func newEnv(t *testing.T) *env {
	s, users := fixture.Store(t, t.TempDir())
	d := dnstest.New(t)
	return &env{t: t, store: s, users: users, pipe: delivery.New(s, nil), dns: d, res: dns.New(d.Addr())}
}

// record counts evs through a Recorder and writes them.
func (e *env) record(evs ...dmarc.Evaluation) {
	e.t.Helper()
	r := NewRecorder(e.store, nil)
	for _, ev := range evs {
		if err := r.RecordDMARC(context.Background(), ev); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) sender() *Sender {
	return &Sender{Store: e.store, Pipeline: e.pipe, Resolver: e.res, Hostname: "mx.example.test",
		Email: "postmaster@example.test"}
}

// inbox returns the messages of an account's INBOX.
func (e *env) inbox(a store.Account) []string { return fixture.Mailbox(e.t, e.store, a, "INBOX") }
