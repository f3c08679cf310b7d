package spf

import (
	"context"
	"net/netip"
	"testing"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/dns/dnstest"
)

func TestMailCheck(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(`a.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`, `mx.a.example. 300 IN TXT "v=spf1 a -all"`,
		`mx.a.example. 300 IN A 192.0.2.9`)
	m := &MailCheck{Checker: &Checker{Resolver: dns.New(srv.Addr())}}
	run := func(ip, helo, from string, trusted bool) []authres.Result {
		t.Helper()
		conn := &delivery.Conn{IP: netip.MustParseAddr(ip), Helo: helo, Trusted: trusted}
		v, err := m.Mail(context.Background(), delivery.NewTransaction(conn, from, nil))
		if err != nil || v.Reply != nil {
			t.Fatalf("%v %v", v.Reply, err)
		}
		return v.Results
	}
	r := run("192.0.2.9", "mx.a.example", "alice@a.example", false)
	if s := r[0].(*authres.SPFResult); s.Value != authres.ResultPass || s.From != "alice@a.example" {
		t.Fatalf("pass: %+v", s)
	}
	r = run("198.51.100.1", "mx.a.example", "alice@a.example", false)
	if s := r[0].(*authres.SPFResult); s.Value != authres.ResultFail {
		t.Fatalf("fail: %+v", s)
	}
	r = run("192.0.2.9", "mx.a.example", "", false) // a bounce: the HELO identity
	if s := r[0].(*authres.SPFResult); s.Value != authres.ResultPass || s.Helo != "mx.a.example" || s.From != "" {
		t.Fatalf("null sender: %+v", s)
	}
	if r := run("192.0.2.9", "mx.a.example", "alice@a.example", true); len(r) != 0 {
		t.Fatalf("a trusted client was checked: %v", r)
	}
}
