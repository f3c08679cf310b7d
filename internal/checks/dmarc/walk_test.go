package dmarc

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

// zone starts a test DNS server with records and a client of it that
// gives up on a query after 100 ms.
func zone(t *testing.T, records ...string) (*dnstest.Server, *dns.Client) {
	t.Helper()
	srv := dnstest.New(t)
	for _, r := range records {
		if r != "" {
			srv.Add(r)
		}
	}
	c := dns.New(srv.Addr())
	c.SetTimeout(100 * time.Millisecond)
	return srv, c
}

// txt is a _dmarc TXT record for domain.
func txt(domain, record string) string {
	return "_dmarc." + domain + `. 300 IN TXT "` + record + `"`
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, records, from string
		wantDomain          string
		wantP               Policy
		queries             int64
	}{
		{"at the author domain", txt("example.org", "v=DMARC1; p=reject"), "Example.ORG.", "example.org", PolicyReject, 1},
		{"at the organizational domain", txt("example.org", "v=DMARC1; p=reject; sp=quarantine"),
			"a.b.example.org", "example.org", PolicyReject, 4}, // a.b.example.org, b.example.org, example.org, org
		{"none", "", "a.example.net", "", "", 3},
		{"several records at a name count as none",
			txt("x.example.org", "v=DMARC1; p=none") + "\n" + txt("x.example.org", "v=DMARC1; p=reject") + "\n" +
				txt("example.org", "v=DMARC1; p=quarantine"),
			"x.example.org", "example.org", PolicyQuarantine, 3},
		{"other TXT records are not DMARC records",
			`_dmarc.example.org. 300 IN TXT "v=spf1 -all"` + "\n" + txt("example.org", "v=DMARC1; p=reject"),
			"example.org", "example.org", PolicyReject, 1},
		// DMARCbis §4.10.2: without psd tags the organizational domain is
		// the name with the fewest labels that has a record, so a record
		// between it and the author domain is not the policy.
		{"an intermediate record is not the policy",
			txt("mail.example.com", "v=DMARC1; p=none") + "\n" + txt("example.com", "v=DMARC1; p=reject"),
			"a.mail.example.com", "example.com", PolicyReject, 4},
		{"psd=n marks the organizational domain and stops the walk",
			txt("dept.example.com", "v=DMARC1; p=quarantine; psd=n") + "\n" + txt("example.com", "v=DMARC1; p=reject"),
			"x.dept.example.com", "dept.example.com", PolicyQuarantine, 2},
		{"the policy of a public suffix with psd=y",
			txt("example", "v=DMARC1; p=reject; psd=y"), "mail.shop.example", "example", PolicyReject, 3},
		{"an organizational domain's own record beats the public suffix's",
			txt("shop.example", "v=DMARC1; p=none") + "\n" + txt("example", "v=DMARC1; p=reject; psd=y"),
			"mail.shop.example", "shop.example", PolicyNone, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := zone(t, strings.Split(tt.records, "\n")...)
			d, rec, err := Discover(context.Background(), c, tt.from)
			if err != nil || d != tt.wantDomain || (rec == nil) != (tt.wantP == "") || (rec != nil && rec.Policy != tt.wantP) {
				t.Fatalf("Discover(%q) = %q, %v, %v; want %q, p=%s", tt.from, d, rec, err, tt.wantDomain, tt.wantP)
			}
			if n := srv.Queries(); n != tt.queries {
				t.Errorf("%d queries, want %d", n, tt.queries)
			}
		})
	}
}

// TestWalkBound: a long author domain costs at most eight queries; after
// the first, the walk jumps to the last seven labels (DMARCbis §4.10
// step 4), so a record in between is never seen.
func TestWalkBound(t *testing.T) {
	t.Parallel()
	long := "a.b.c.d.e.f.g.h.i.j.mail.example.com" // 13 labels
	srv, c := zone(t, txt("f.g.h.i.j.mail.example.com", "v=DMARC1; p=reject"))
	d, rec, err := Discover(context.Background(), c, long)
	if err != nil || rec != nil {
		t.Fatalf("the record at 8 labels was found: %q %v %v", d, rec, err)
	}
	if n := srv.Queries(); n != 8 {
		t.Fatalf("%d queries for 13 labels, want 8", n)
	}
	srv, c = zone(t, txt("g.h.i.j.mail.example.com", "v=DMARC1; p=quarantine"))
	if d, rec, err := Discover(context.Background(), c, long); err != nil || d != "g.h.i.j.mail.example.com" || rec.Policy != PolicyQuarantine {
		t.Fatalf("the record at 7 labels: %q %v %v", d, rec, err)
	}
	if n := srv.Queries(); n != 8 { // on to the top: a shorter name with a record would be the organizational domain
		t.Fatalf("%d queries, want 8", n)
	}
	srv, c = zone(t)
	if _, _, err := Discover(context.Background(), c, "a.b.c.d.e.f.g.example.com"); err != nil { // 9 labels
		t.Fatal(err)
	}
	if n := srv.Queries(); n != 8 {
		t.Fatalf("%d queries for 9 labels, want 8", n)
	}
}

func TestOrganizationalDomain(t *testing.T) {
	t.Parallel()
	_, c := zone(t,
		txt("example.com", "v=DMARC1; p=none"), txt("mail.example.com", "v=DMARC1; p=none"),
		txt("example", "v=DMARC1; p=none; psd=y"),
		txt("dept.example.net", "v=DMARC1; p=none; psd=n"), txt("example.net", "v=DMARC1; p=none"),
		txt("example.org", "v=DMARC1; p=bogus"))
	for domain, want := range map[string]string{
		"a.mail.example.com":  "example.com",  // the fewest labels (the draft's first example)
		"example.com":         "example.com",  // its own record
		"a.mail.shop.example": "shop.example", // one label below psd=y (the draft's last example)
		"example":             "example",      // psd=y at the start does not count
		"x.dept.example.net":  "dept.example.net",
		"nothing.test":        "nothing.test",  // no record: the domain itself
		"a.example.org":       "a.example.org", // an invalid record is not a valid one
	} {
		if got, err := OrganizationalDomain(context.Background(), c, domain); err != nil || got != want {
			t.Errorf("OrganizationalDomain(%q) = %q, %v; want %q", domain, got, err, want)
		}
	}
}

func TestDiscoverErrors(t *testing.T) {
	t.Parallel()
	srv, c := zone(t, txt("bad.example", "v=DMARC1; p=maybe"))
	srv.Fail("_dmarc.broken.example", mdns.RcodeServerFailure)
	srv.Drop("_dmarc.slow.example")
	ctx := context.Background()
	if d, _, err := Discover(ctx, c, "bad.example"); !errors.Is(err, ErrPolicy) || d != "bad.example" {
		t.Errorf("invalid record: %q %v", d, err)
	}
	var de *net.DNSError
	if _, _, err := Discover(ctx, c, "a.broken.example"); !errors.As(err, &de) || !de.IsTemporary {
		t.Errorf("SERVFAIL on the way up: %v", err)
	}
	if _, _, err := Discover(ctx, c, "slow.example"); !errors.As(err, &de) || !de.IsTimeout {
		t.Errorf("no answer: %v", err)
	}
	if _, _, err := Discover(ctx, c, "[192.0.2.1]"); err == nil {
		t.Error("an address literal is not a domain")
	}
}
