package dns_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/dns/dnstest"
)

func TestLookups(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(`a.example. 300 IN TXT "v=spf1 " "-all"`, `a.example. 300 IN MX 10 mx.a.example.`,
		`mx.a.example. 300 IN A 192.0.2.1`, `mx.a.example. 300 IN AAAA 2001:db8::1`,
		`1.2.0.192.in-addr.arpa. 300 IN PTR mx.a.example.`, `alias.example. 300 IN CNAME mx.a.example.`,
		`big.example. 300 IN TXT "`+strings.Repeat("x", 250)+`"`)
	for range 20 {
		srv.Add(`big.example. 300 IN TXT "` + strings.Repeat("y", 250) + `"`)
	}
	c := dns.New(srv.Addr())
	ctx := context.Background()
	if txt, err := c.LookupTXT(ctx, "A.example"); err != nil || len(txt) != 1 || txt[0] != "v=spf1 -all" {
		t.Fatalf("TXT: %q %v", txt, err)
	}
	if mx, err := c.LookupMX(ctx, "a.example"); err != nil || len(mx) != 1 || mx[0].Host != "mx.a.example." || mx[0].Pref != 10 {
		t.Fatalf("MX: %v %v", mx, err)
	}
	if ips, err := c.LookupIPAddr(ctx, "alias.example"); err != nil || len(ips) != 2 {
		t.Fatalf("A/AAAA through a CNAME: %v %v", ips, err)
	}
	if ptr, err := c.LookupAddr(ctx, "192.0.2.1"); err != nil || len(ptr) != 1 || ptr[0] != "mx.a.example." {
		t.Fatalf("PTR: %v %v", ptr, err)
	}
	if txt, err := c.LookupTXT(ctx, "big.example"); err != nil || len(txt) != 21 {
		t.Fatalf("truncated UDP answer, over TCP: %d records, %v", len(txt), err)
	}
}

func TestErrors(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(`a.example. 300 IN A 192.0.2.1`)
	srv.Fail("broken.example", mdns.RcodeServerFailure)
	srv.Drop("slow.example")
	c := dns.New(srv.Addr())
	c.SetTimeout(100 * time.Millisecond)
	ctx := context.Background()
	check := func(name string, err error, notFound, timeout bool) {
		t.Helper()
		var de *net.DNSError
		if !errors.As(err, &de) || de.IsNotFound != notFound || de.IsTimeout != timeout || de.IsTemporary == notFound {
			t.Fatalf("%s: %#v", name, err)
		}
		if dns.NotFound(err) != notFound {
			t.Fatalf("%s: NotFound says %v", name, !notFound)
		}
	}
	_, err := c.LookupTXT(ctx, "nx.example")
	check("NXDOMAIN", err, true, false)
	_, err = c.LookupTXT(ctx, "a.example")
	check("NODATA", err, true, false)
	_, err = c.LookupTXT(ctx, "broken.example")
	check("SERVFAIL", err, false, false)
	_, err = c.LookupTXT(ctx, "slow.example")
	check("timeout", err, false, true)
	if _, err := c.LookupAddr(ctx, "not an IP"); err == nil {
		t.Fatal("a bad address was looked up")
	}
}

// Answers are kept for their TTL, negative ones too; failures are not.
func TestCache(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(`a.example. 300 IN TXT "x"`, `zero.example. 0 IN TXT "y"`)
	srv.Fail("broken.example", mdns.RcodeServerFailure)
	c := dns.New(srv.Addr())
	ctx := context.Background()
	for range 3 {
		c.LookupTXT(ctx, "a.example")
		c.LookupTXT(ctx, "nx.example")
	}
	if n := srv.Queries(); n != 2 {
		t.Fatalf("%d queries for 2 names asked 3 times", n)
	}
	for range 3 {
		c.LookupTXT(ctx, "zero.example")
		c.LookupTXT(ctx, "broken.example")
	}
	if n := srv.Queries(); n != 2+6 {
		t.Fatalf("TTL 0 or a failure was cached: %d queries", n)
	}
}
