package arc

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/dns/dnstest"
	"facteur.dev/facteur/internal/testutil/fixture"
)

// sealers returns an RSA and an Ed25519 sealer for domain with keys made
// by internal/dkim, whose records srv then serves.
func sealers(t *testing.T, srv *dnstest.Server, domain string) (rsa, ed *Sealer) {
	t.Helper()
	keys := dkim.New(t.TempDir())
	if err := keys.Generate(domain); err != nil {
		t.Fatal(err)
	}
	recs, err := keys.Records(domain)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		srv.Add(dnstest.TXT(r.Name, r.Value))
	}
	ks, err := keys.Signers(domain)
	if err != nil || len(ks) != 2 {
		t.Fatalf("keys: %v %v", ks, err)
	}
	mk := func(k dkim.Key) *Sealer {
		return &Sealer{AuthServID: "mx." + domain, Domain: domain, Selector: k.Selector, Key: k.Signer}
	}
	return mk(ks[1]), mk(ks[0])
}

var now = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// forward is one forwarding hop: validate, seal, prepend.
func forward(t *testing.T, c *Check, s *Sealer, msg string) (string, ChainResult) {
	t.Helper()
	chain := c.Verify(context.Background(), strings.NewReader(msg))
	h, err := s.Seal(strings.NewReader(msg), chain, []authres.Result{&authres.SPFResult{Value: authres.ResultPass, From: "example.com"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "ARC-Seal: ") || !strings.HasSuffix(h, "\r\n") {
		t.Fatalf("headers: %q", h)
	}
	return h + msg, chain
}

func TestRoundTrip(t *testing.T) {
	srv := dnstest.New(t)
	rsaB, _ := sealers(t, srv, "b.example")
	_, edC := sealers(t, srv, "c.example")
	c := &Check{Resolver: dns.New(srv.Addr())}
	m1, before := forward(t, c, rsaB, genBase)
	if before.Value != authres.ResultNone {
		t.Fatalf("unsealed: %+v", before)
	}
	got := c.Verify(context.Background(), strings.NewReader(m1))
	if got.Value != authres.ResultPass || got.Instances != 1 || got.NewestCV != "none" ||
		strings.Join(got.Sealers, " ") != "b.example" || !strings.HasPrefix(got.AuthResults[0], "mx.b.example; spf=pass") {
		t.Fatalf("one hop: %+v", got)
	}
	m2, _ := forward(t, c, edC, m1)
	got = c.Verify(context.Background(), strings.NewReader(m2))
	if got.Value != authres.ResultPass || got.Instances != 2 || got.OldestPass != 0 || strings.Join(got.Sealers, " ") != "c.example b.example" {
		t.Fatalf("two hops: %+v", got)
	}
	if !strings.Contains(got.AuthResults[0], "arc=pass") || !strings.Contains(got.AuthResults[1], "arc=none") {
		t.Fatalf("the AARs do not carry the arc results: %q", got.AuthResults)
	}
}

// A chain that failed is sealed cv=fail, the seal covering its own set
// only (RFC 8617 §5.1.2), and never sealed again (§5.1).
func TestSealFailedChain(t *testing.T) {
	srv := dnstest.New(t)
	rsaB, _ := sealers(t, srv, "b.example")
	rsaC, _ := sealers(t, srv, "c.example")
	c := &Check{Resolver: dns.New(srv.Addr())}
	m1, _ := forward(t, c, rsaB, genBase)
	tampered := strings.Replace(m1, "at noon?", "at one?", 1)
	m2, chain := forward(t, c, rsaC, tampered)
	if chain.Value != authres.ResultFail {
		t.Fatalf("tampered: %+v", chain)
	}
	col := collect(headerOf(t, m2))
	newest := col.sets[2]
	if cv := newest.asTags["cv"]; cv != "fail" {
		t.Fatalf("cv=%s", cv)
	}
	alone := &verifier{ctx: context.Background(), sets: []*arcSet{newest}, keys: &keys{resolver: c.Resolver, cache: map[string]keyAnswer{}}}
	if err := alone.seal(1); err != nil {
		t.Fatalf("the cv=fail seal does not verify over its own set: %v", err)
	}
	got := c.Verify(context.Background(), strings.NewReader(m2))
	if got.Value != authres.ResultFail || got.NewestCV != "fail" {
		t.Fatalf("sealed fail: %+v", got)
	}
	if _, err := rsaB.Seal(strings.NewReader(m2), got, nil, now); !errors.Is(err, ErrChainFailed) {
		t.Fatalf("sealing after cv=fail: %v", err)
	}
}

// A key that could not be fetched is temperror in Authentication-Results,
// and the seal says cv=fail (RFC 8617 §5.2.1).
func TestSealTempError(t *testing.T) {
	srv := dnstest.New(t)
	rsaB, _ := sealers(t, srv, "b.example")
	m1, _ := forward(t, &Check{Resolver: dns.New(srv.Addr())}, rsaB, genBase)
	down := checker(t, nil, []string{"facteur-rsa._domainkey.b.example"})
	chain := down.Verify(context.Background(), strings.NewReader(m1))
	if chain.Value != authres.ResultTempError {
		t.Fatalf("SERVFAIL: %+v", chain)
	}
	h, err := rsaB.Seal(strings.NewReader(m1), chain, nil, now)
	if err != nil || !strings.Contains(h, "cv=fail") || !strings.Contains(h, "arc=temperror") {
		t.Fatalf("%v\n%s", err, h)
	}
}

func TestSealRefuses(t *testing.T) {
	srv := dnstest.New(t)
	s, _ := sealers(t, srv, "b.example")
	for name, tc := range map[string]struct {
		sealer *Sealer
		chain  ChainResult
	}{
		"fifty sets":        {s, ChainResult{Value: authres.ResultPass, Instances: 50, NewestCV: "pass"}},
		"not validated":     {s, ChainResult{}},
		"pass without sets": {s, ChainResult{Value: authres.ResultPass, Instances: 1, NewestCV: "none"}},
		"none with sets":    {s, ChainResult{Value: authres.ResultNone, Instances: 2}},
		"no key":            {&Sealer{AuthServID: "mx", Domain: "b.example", Selector: "x"}, ChainResult{Value: authres.ResultNone}},
		"bad domain":        {&Sealer{AuthServID: "mx", Domain: "b.example;x=1", Selector: "x", Key: s.Key}, ChainResult{Value: authres.ResultNone}},
		"bad authserv-id":   {&Sealer{AuthServID: "mx\r\nBcc: x", Domain: "b.example", Selector: "x", Key: s.Key}, ChainResult{Value: authres.ResultNone}},
	} {
		if h, err := tc.sealer.Seal(strings.NewReader(genBase), tc.chain, nil, now); err == nil {
			t.Errorf("%s: sealed\n%s", name, h)
		}
	}
	if _, err := s.Seal(strings.NewReader(genBase), ChainResult{Value: authres.ResultPass, Instances: 50}, nil, now); !errors.Is(err, ErrChainFull) {
		t.Errorf("fifty sets: %v", err)
	}
}

// The AAR names every method, an *authres.ARCResult included, and keeps
// to one header field whatever the results hold.
func TestSealAAR(t *testing.T) {
	srv := dnstest.New(t)
	s, _ := sealers(t, srv, "b.example")
	results := []authres.Result{
		&authres.DKIMResult{Value: authres.ResultFail, Domain: "example.com", Reason: "bad\r\nBcc: victim@example.net"},
		&authres.ARCResult{Value: authres.ResultPass, RemoteIP: "192.0.2.1"},
	}
	h, err := s.Seal(strings.NewReader(genBase), ChainResult{Value: authres.ResultNone}, results, now)
	if err != nil {
		t.Fatal(err)
	}
	aar := h[strings.Index(h, "ARC-Authentication-Results:"):]
	want := "ARC-Authentication-Results: i=1; mx.b.example;\r\n\tdkim=fail reason=\"bad  Bcc: victim@example.net\" header.d=example.com;\r\n\tarc=pass smtp.remote-ip=192.0.2.1\r\n"
	if aar != want {
		t.Fatalf("AAR\n%q\nwant\n%q", aar, want)
	}
}

// The DATA check records an arc result that Authentication-Results shows
// with the client's address.
func TestData(t *testing.T) {
	srv := dnstest.New(t)
	s, _ := sealers(t, srv, "b.example")
	c := &Check{Resolver: dns.New(srv.Addr())}
	sealed, _ := forward(t, c, s, genBase)
	st, _ := fixture.Store(t, t.TempDir())
	p := delivery.New(st, nil)
	rec, err := p.Receive(context.Background(), strings.NewReader(sealed))
	if err != nil {
		t.Fatal(err)
	}
	tx := delivery.NewTransaction(&delivery.Conn{IP: netip.MustParseAddr("192.0.2.7")}, "alice@example.com", nil)
	checks := delivery.NewChecks("mx.d.example", nil, c)
	if reply := checks.Data(context.Background(), tx, p.NewMessage(rec)); reply != nil {
		t.Fatalf("refused: %v", reply)
	}
	want := "Authentication-Results: mx.d.example;\r\n\tarc=pass smtp.remote-ip=192.0.2.7"
	if got := checks.AuthenticationResults(tx); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}
