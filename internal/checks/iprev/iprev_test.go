package iprev

import (
	"context"
	"net/netip"
	"testing"

	"github.com/emersion/go-msgauth/authres"
	mdns "github.com/miekg/dns"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/dns/dnstest"
)

func TestIPRev(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(`1.2.0.192.in-addr.arpa. 300 IN PTR mail.a.example.`, `mail.a.example. 300 IN A 192.0.2.1`,
		`2.2.0.192.in-addr.arpa. 300 IN PTR liar.example.`, `liar.example. 300 IN A 198.51.100.7`,
		`3.2.0.192.in-addr.arpa. 300 IN PTR broken.example.`,
		`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR six.a.example.`,
		`six.a.example. 300 IN AAAA 2001:db8::1`)
	srv.Fail("broken.example", mdns.RcodeServerFailure)
	c := &Check{Resolver: dns.New(srv.Addr())}
	for ip, want := range map[string]struct {
		v    authres.ResultValue
		name string
	}{
		"192.0.2.1":   {authres.ResultPass, "mail.a.example"},
		"2001:db8::1": {authres.ResultPass, "six.a.example"},
		"192.0.2.2":   {authres.ResultFail, ""},
		"192.0.2.3":   {authres.ResultTempError, ""},
		"192.0.2.99":  {authres.ResultPermError, ""},
	} {
		conn := &delivery.Conn{IP: netip.MustParseAddr(ip)}
		v, err := c.Connect(context.Background(), conn)
		if err != nil || len(v.Results) != 1 {
			t.Fatalf("%s: %v %v", ip, v, err)
		}
		r := v.Results[0].(*authres.IPRevResult)
		if r.Value != want.v || v.RDNS != want.name || r.IP != ip {
			t.Errorf("%s: %s %q (%s), want %s %q", ip, r.Value, v.RDNS, r.IP, want.v, want.name)
		}
	}
}
