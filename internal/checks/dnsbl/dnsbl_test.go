package dnsbl

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
	mdns "github.com/miekg/dns"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/dns/dnstest"
)

func TestQuery(t *testing.T) {
	if q := Query(netip.MustParseAddr("192.0.2.99"), "bl.example"); q != "99.2.0.192.bl.example" {
		t.Error(q)
	}
	// RFC 5782 §2.4's example.
	want := "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example"
	if q := Query(netip.MustParseAddr("2001:db8:1:2:3:4:567:89ab"), "bl.example"); q != want {
		t.Error(q)
	}
}

func TestParseList(t *testing.T) {
	l, err := ParseList("zen.spamhaus.org")
	if err != nil || l.Codes[netip.MustParseAddr("127.0.0.4")] != "XBL" || len(l.Codes) != 9 {
		t.Fatalf("%+v %v", l, err)
	}
	l, err = ParseList("bl.example=127.0.0.2, 127.0.0.[4..6]")
	if err != nil || len(l.Codes) != 4 {
		t.Fatalf("%+v %v", l, err)
	}
	for _, bad := range []string{"", "=127.0.0.2", "bl.example=127.0.0.[6..4]", "bl.example=x", "bl.example=127.0.0.[1..300]", "a b"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestCheck(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(`2.0.0.127.zen.spamhaus.org. 300 IN A 127.0.0.2`,
		`2.0.0.127.zen.spamhaus.org. 300 IN TXT "https://www.spamhaus.org/query/ip/127.0.0.2"`,
		`3.0.0.127.zen.spamhaus.org. 300 IN A 127.255.255.254`, // a list error, not a listing
		`4.0.0.127.bl.example. 300 IN A 127.0.0.5`,
		`5.0.0.127.wl.example. 300 IN A 127.0.10.1`)
	srv.Fail("6.0.0.127.bl.example", mdns.RcodeServerFailure)
	zen, _ := ParseList("zen.spamhaus.org")
	bl, _ := ParseList("bl.example")
	wl, _ := ParseList("wl.example")
	c := &Check{Resolver: dns.New(srv.Addr()), Block: []List{zen, bl}, Allow: []List{wl}}
	run := func(ip string) (delivery.Verdict, error) {
		return c.Connect(context.Background(), &delivery.Conn{IP: netip.MustParseAddr(ip)})
	}
	v, err := run("127.0.0.2")
	if err != nil || v.Reply == nil || v.Reply.Code != 554 || v.Reply.Enhanced != [3]int{5, 7, 1} ||
		!strings.Contains(v.Reply.Message, "blocked using zen.spamhaus.org (SBL); https://www.spamhaus.org/query/ip/127.0.0.2") {
		t.Fatalf("listed: %+v %v", v.Reply, err)
	}
	if v, err := run("127.0.0.3"); err != nil || v.Reply != nil {
		t.Fatalf("a list error counted as a listing: %+v %v", v.Reply, err)
	}
	if v, err := run("127.0.0.4"); err != nil || v.Reply == nil || !strings.Contains(v.Reply.Message, "bl.example") {
		t.Fatalf("second list: %+v %v", v.Reply, err)
	}
	v, err = run("127.0.0.5")
	if err != nil || v.Reply != nil || len(v.Results) != 1 || v.Results[0].(*authres.GenericResult).Method != "dnswl" {
		t.Fatalf("allow list: %+v %v", v, err)
	}
	if _, err := run("127.0.0.6"); err == nil {
		t.Fatal("a list that cannot be asked gave no error")
	}
	if v, err := run("127.0.0.9"); err != nil || v.Reply != nil {
		t.Fatalf("not listed: %+v %v", v, err)
	}
	c.Skip = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	if v, err := run("127.0.0.2"); err != nil || v.Reply != nil {
		t.Fatalf("a trusted network was looked up: %+v %v", v, err)
	}
}
