package queue

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/store"
)

// twoSites: a.test (alice) sends, b.test (bob) receives through its MX
// found in DNS.
func twoSites(t *testing.T) (a, b *site, dnsAddr string) {
	a = newSite(t, "a.test", "alice")
	b = newSite(t, "b.test", "bob")
	b.serveMX(nil)
	dnsAddr = dnsServer(t, map[string]mockdns.Zone{
		"b.test.":    {MX: []net.MX{{Host: "mx.b.test.", Pref: 10}}},
		"mx.b.test.": {A: []string{"127.0.0.1"}},
		"null.test.": {MX: []net.MX{{Host: ".", Pref: 0}}},
		// No MX: the domain's own address (implicit MX), or none at all.
		"direct.test.": {A: []string{"127.0.0.1"}},
		"noaddr.test.": {TXT: []string{"v=spf1 -all"}},
	})
	return a, b, dnsAddr
}

func TestDeliverThroughMX(t *testing.T) {
	t.Parallel()
	a, b, dns := twoSites(t)
	a.startRunner(dns, func(o *Options) { o.Port = b.port() })
	a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "hello"), nil)
	got := b.waitInbox("bob", 1)
	if !strings.Contains(got[0], "Hello hello") {
		t.Fatalf("message %q", got[0])
	}
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
}

func TestRetryUntilBack(t *testing.T) {
	t.Parallel()
	a, b, dns := twoSites(t)
	b.stopMX()
	clk := &clock{t: time.Now()}
	r := a.startRunner(dns, func(o *Options) { o.Port = b.port(); o.Now = clk.Now })
	a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "retry"), nil)
	q := a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
	if q[0].LastError == "" || !q[0].NextAttempt.After(clk.Now()) {
		t.Fatalf("deferred entry %+v", q[0])
	}
	b.startMX()
	clk.Add(61 * time.Second)
	r.Kick()
	b.waitInbox("bob", 1)
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
}

func TestBounce550(t *testing.T) {
	t.Parallel()
	a, b, dns := twoSites(t)
	a.startRunner(dns, func(o *Options) { o.Port = b.port() })
	a.send("alice@a.test", []string{"nobody@b.test", "bob@b.test"}, testMessage("alice@a.test", "nobody@b.test", "bounce"), nil)
	b.waitInbox("bob", 1)
	dsn := a.waitInbox("alice", 1)[0]
	for _, want := range []string{"multipart/report; report-type=delivery-status", "Final-Recipient: rfc822; nobody@b.test",
		"Action: failed", "Status: 5.1.1", "Diagnostic-Code: smtp; 550 5.1.1", "Remote-MTA: dns; mx.b.test",
		"text/rfc822-headers", "Subject: bounce", "From: Mail Delivery System <MAILER-DAEMON@mx.a.test>"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	if strings.Contains(dsn, "Final-Recipient: rfc822; bob@b.test") {
		t.Errorf("DSN names a delivered recipient:\n%s", dsn)
	}
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
}

func TestNullMXBouncesAtOnce(t *testing.T) {
	t.Parallel()
	a, _, dns := twoSites(t)
	a.startRunner(dns, nil)
	a.send("alice@a.test", []string{"x@null.test"}, testMessage("alice@a.test", "x@null.test", "nullmx"), func(e *delivery.Envelope) {
		e.Ret = "FULL"
	})
	dsn := a.waitInbox("alice", 1)[0]
	for _, want := range []string{"Status: 5.1.10", "x@null.test", "message/rfc822", "Hello nullmx"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
}

func TestNoBounceToNullSender(t *testing.T) {
	t.Parallel()
	a, _, dns := twoSites(t)
	a.startRunner(dns, nil)
	a.send("", []string{"x@null.test"}, testMessage("alice@a.test", "x@null.test", "nullsender"), nil)
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	if got := a.inbox("alice"); len(got) != 0 {
		t.Fatalf("bounce of a bounce: %q", got)
	}
}

// Without MX records the domain's own address is the MX (RFC 5321 §5.1):
// b's server is reached and refuses to relay (5.7.1); a domain with no
// address at all bounces with 5.1.2.
func TestImplicitMX(t *testing.T) {
	t.Parallel()
	a, b, dns := twoSites(t)
	a.startRunner(dns, func(o *Options) { o.Port = b.port() })
	a.send("alice@a.test", []string{"x@direct.test"}, testMessage("alice@a.test", "x@direct.test", "direct"), nil)
	a.send("alice@a.test", []string{"y@noaddr.test"}, testMessage("alice@a.test", "y@noaddr.test", "noaddr"), nil)
	got := strings.Join(a.waitInbox("alice", 2), "\n")
	for _, want := range []string{"Final-Recipient: rfc822; x@direct.test", "Status: 5.7.1", "Remote-MTA: dns; direct.test",
		"Final-Recipient: rfc822; y@noaddr.test", "Status: 5.1.2"} {
		if !strings.Contains(got, want) {
			t.Errorf("DSNs lack %q:\n%s", want, got)
		}
	}
}
