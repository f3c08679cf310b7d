package queue

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"
	"github.com/miekg/dns"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/tlsutil"
)

// certFor returns a server config with a self-signed certificate for
// hosts, and a pool that trusts it.
func certFor(t *testing.T, hosts ...string) (*tls.Config, *x509.CertPool, *x509.Certificate) {
	t.Helper()
	cp, kp, err := tlsutil.SelfSigned(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cp)
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	return &tls.Config{Certificates: []tls.Certificate{cert}}, pool, leaf
}

// stsServer serves an MTA-STS policy for domain over HTTPS and returns a
// client that reaches it as https://mta-sts.DOMAIN/ and trusts it.
func stsServer(t *testing.T, domain, policy string) *http.Client {
	t.Helper()
	conf, pool, _ := certFor(t, "mta-sts."+domain)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" || r.Host != "mta-sts."+domain {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(policy))
	}))
	srv.TLS = conf
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}}
}

const enforce = "version: STSv1\r\nmode: enforce\r\nmx: *.b.test\r\nmax_age: 86400\r\n"

func stsZones() map[string]mockdns.Zone {
	return map[string]mockdns.Zone{
		"b.test.":          {MX: []net.MX{{Host: "mx.b.test.", Pref: 10}}},
		"mx.b.test.":       {A: []string{"127.0.0.1"}},
		"_mta-sts.b.test.": {TXT: []string{"v=STSv1; id=20261123"}},
	}
}

// A domain with an MTA-STS enforce policy is never sent to over
// plaintext: its MX offers no STARTTLS, so the message waits.
func TestMTASTSEnforceNeverPlaintext(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	b := newSite(t, "b.test", "bob")
	b.serveMX(nil)
	dnsAddr := dnsServer(t, stsZones())
	a.startRunner(dnsAddr, func(o *Options) { o.Port = b.port(); o.HTTPClient = stsServer(t, "b.test", enforce) })
	a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "sts"), nil)
	q := a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
	if !strings.Contains(q[0].LastError, "STARTTLS") || !strings.Contains(q[0].LastError, "mta-sts") {
		t.Fatalf("last error %q", q[0].LastError)
	}
	if got := b.inbox("bob"); len(got) != 0 {
		t.Fatalf("delivered over plaintext: %q", got)
	}
}

// With STARTTLS and a certificate valid for the MX name, the enforce
// domain gets its mail; an untrusted certificate is refused.
func TestMTASTSEnforceVerifiedTLS(t *testing.T) {
	t.Parallel()
	for _, trusted := range []bool{true, false} {
		t.Run(strconv.FormatBool(trusted), func(t *testing.T) {
			t.Parallel()
			a := newSite(t, "a.test", "alice")
			b := newSite(t, "b.test", "bob")
			conf, pool, _ := certFor(t, "mx.b.test")
			if !trusted {
				_, pool, _ = certFor(t, "mx.b.test") // another CA
			}
			b.serveMX(conf)
			dnsAddr := dnsServer(t, stsZones())
			a.startRunner(dnsAddr, func(o *Options) {
				o.Port, o.RootCAs, o.HTTPClient = b.port(), pool, stsServer(t, "b.test", enforce)
			})
			a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "ststls"), nil)
			if trusted {
				b.waitInbox("bob", 1)
				return
			}
			q := a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
			if !strings.Contains(q[0].LastError, "certificate not valid") {
				t.Fatalf("last error %q", q[0].LastError)
			}
		})
	}
}

// DANE (RFC 7672): with a signed MX answer, a TLSA 3 1 1 record with the
// AD bit pins the MX's key even when no CA vouches for it; a mismatching
// record refuses it; the same record without the AD bit, or under an
// unsigned MX answer, is ignored (opportunistic TLS).
func TestDANE(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		match, ad, mxSig bool
		delivered        bool
	}{{"match", true, true, true, true}, {"mismatch", false, true, true, false}, {"insecure", false, false, true, true},
		{"unsigned-mx", false, true, false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newSite(t, "a.test", "alice")
			b := newSite(t, "b.test", "bob")
			conf, _, leaf := certFor(t, "mx.b.test")
			b.serveMX(conf)
			sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
			if !tc.match {
				sum[0] ^= 0xff
			}
			name := "_" + strconv.Itoa(b.port()) + "._tcp.mx.b.test."
			tlsa := &dns.TLSA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTLSA, Class: dns.ClassINET, Ttl: 300},
				Usage: 3, Selector: 1, MatchingType: 1, Certificate: hex.EncodeToString(sum[:])}
			dnsAddr := dnsServer(t, map[string]mockdns.Zone{
				"b.test.":    {AD: tc.mxSig, MX: []net.MX{{Host: "mx.b.test.", Pref: 10}}},
				"mx.b.test.": {A: []string{"127.0.0.1"}},
				name:         {AD: tc.ad, Misc: map[dns.Type][]dns.RR{dns.Type(dns.TypeTLSA): {tlsa}}},
			})
			a.startRunner(dnsAddr, func(o *Options) { o.Port = b.port() })
			a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "dane"), nil)
			if tc.delivered {
				b.waitInbox("bob", 1)
				return
			}
			q := a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
			if !strings.Contains(q[0].LastError, "(dane)") {
				t.Fatalf("last error %q", q[0].LastError)
			}
		})
	}
}

func TestMatchMX(t *testing.T) {
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"mx.b.test", "mx.b.test", true}, {"mx.b.test", "MX.B.TEST.", true}, {"*.b.test", "mx.b.test", true},
		{"*.b.test", "a.mx.b.test", false}, {"*.b.test", "b.test", false}, {"mx.b.test", "mx2.b.test", false},
	} {
		if got := matchMX(tc.pattern, tc.host); got != tc.want {
			t.Errorf("matchMX(%q, %q) = %v", tc.pattern, tc.host, got)
		}
	}
}

func TestParseSTS(t *testing.T) {
	p, err := parseSTS(strings.NewReader(enforce))
	if err != nil || p.Mode != "enforce" || len(p.MX) != 1 || p.MaxAge.Hours() != 24 {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{"version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n", "version: STSv1\nmode: strict\nmx: a\n",
		"version: STSv1\nmode: enforce\nmax_age: 5\n"} {
		if _, err := parseSTS(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// MTA-STS testing mode only reports: mail goes out over plaintext.
// Enforce with an MX the policy does not list: the host is skipped.
func TestMTASTSTestingAndUnlistedMX(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, policy string
		delivered    bool
	}{
		{"testing", "version: STSv1\nmode: testing\nmx: *.b.test\nmax_age: 600\n", true},
		{"unlisted", "version: STSv1\nmode: enforce\nmx: other.example\nmax_age: 600\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newSite(t, "a.test", "alice")
			b := newSite(t, "b.test", "bob")
			b.serveMX(nil)
			dnsAddr := dnsServer(t, stsZones())
			a.startRunner(dnsAddr, func(o *Options) { o.Port = b.port(); o.HTTPClient = stsServer(t, "b.test", tc.policy) })
			a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", tc.name), nil)
			if tc.delivered {
				b.waitInbox("bob", 1)
				return
			}
			q := a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
			if !strings.Contains(q[0].LastError, "does not list MX mx.b.test") {
				t.Fatalf("last error %q", q[0].LastError)
			}
		})
	}
}

// outbound.require_tls: a listed domain gets mail only over verified TLS.
func TestRequireTLSDomain(t *testing.T) {
	t.Parallel()
	for _, withTLS := range []bool{false, true} {
		t.Run(strconv.FormatBool(withTLS), func(t *testing.T) {
			t.Parallel()
			a := newSite(t, "a.test", "alice")
			b := newSite(t, "b.test", "bob")
			conf, pool, _ := certFor(t, "127.0.0.1")
			if !withTLS {
				conf = nil
			}
			b.serveMX(conf)
			a.startRunner("127.0.0.1:1", func(o *Options) {
				o.Routes, o.RequireTLS, o.RootCAs = map[string]string{"b.test": b.addr}, map[string]bool{"b.test": true}, pool
			})
			a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "reqdomain"), nil)
			if withTLS {
				b.waitInbox("bob", 1)
				return
			}
			q := a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
			if !strings.Contains(q[0].LastError, "tls_required") {
				t.Fatalf("last error %q", q[0].LastError)
			}
		})
	}
}

// An enforce policy outlives a restart and the loss of its TXT record:
// the cached policy still keeps mail off plaintext (RFC 8461 §5.1).
func TestMTASTSCacheSurvivesRestart(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	b := newSite(t, "b.test", "bob")
	b.serveMX(nil)
	cache := t.TempDir()
	zones := stsZones()
	dnsAddr := dnsServer(t, zones)
	r1 := a.startRunner(dnsAddr, func(o *Options) {
		o.Port, o.HTTPClient, o.STSCacheDir = b.port(), stsServer(t, "b.test", enforce), cache
	})
	if p := r1.sts(context.Background(), "b.test"); p == nil || p.Mode != "enforce" {
		t.Fatalf("policy %+v", p)
	}
	r1.Shutdown(context.Background())
	// A new runner, no TXT record, no policy server: the cache decides.
	zones = stsZones()
	delete(zones, "_mta-sts.b.test.")
	dns2 := dnsServer(t, zones)
	r2 := a.startRunner(dns2, func(o *Options) { o.Port, o.STSCacheDir = b.port(), cache })
	if p := r2.sts(context.Background(), "b.test"); p == nil || p.Mode != "enforce" || !p.allows("mx.b.test") {
		t.Fatalf("policy after restart %+v", p)
	}
}

// REQUIRETLS mail goes out over verified TLS to a trusted host (here an
// administrator's route) that offers REQUIRETLS.
func TestRequireTLSDelivered(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	conf, pool, _ := certFor(t, "127.0.0.1")
	sk, addr := startSink(t, func(s *smtp.Server) { s.TLSConfig, s.EnableREQUIRETLS = conf, true })
	a.startRunner("127.0.0.1:1", func(o *Options) {
		o.Routes, o.RootCAs = map[string]string{"sink.test": addr}, pool
	})
	a.send("alice@a.test", []string{"x@sink.test"}, testMessage("alice@a.test", "x@sink.test", "reqtls-ok"),
		func(e *delivery.Envelope) { e.RequireTLS = true })
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	if sk.msgs.Load() != 1 {
		t.Fatalf("%d messages; alice got %q", sk.msgs.Load(), a.inbox("alice"))
	}
}

// "TLS-Required: No" (RFC 8689 §5): the sender prefers delivery to the
// MTA-STS policy, so the message goes out over plaintext; one without the
// header still waits.
func TestTLSRequiredNo(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	b := newSite(t, "b.test", "bob")
	b.serveMX(nil)
	dnsAddr := dnsServer(t, stsZones())
	a.startRunner(dnsAddr, func(o *Options) { o.Port = b.port(); o.HTTPClient = stsServer(t, "b.test", enforce) })
	waived := strings.Replace(testMessage("alice@a.test", "bob@b.test", "waived"), "Subject:", "TLS-Required: No\r\nSubject:", 1)
	a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "kept"), nil)
	a.send("alice@a.test", []string{"bob@b.test"}, waived, nil)
	got := b.waitInbox("bob", 1)
	if len(got) != 1 || !strings.Contains(got[0], "Subject: waived") {
		t.Fatalf("bob got %q", got)
	}
	q := a.waitQueue("one deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
	if !strings.Contains(q[0].LastError, "STARTTLS") {
		t.Fatalf("entry %+v", q[0])
	}
}
