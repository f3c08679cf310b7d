package main

import (
	"fmt"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fdkim "facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/dns/dnstest"
)

// publishDKIM serves the TXT records of in's two DKIM keys of domain.
func (in *instance) publishDKIM(dnsSrv *dnstest.Server, domain string) {
	in.t.Helper()
	recs, err := fdkim.New(filepath.Join(in.dir, "data")).Records(domain)
	if err != nil || len(recs) != 2 {
		in.t.Fatalf("DKIM records %v %v", recs, err)
	}
	for _, r := range recs {
		dnsSrv.Add(dnstest.TXT(r.Name, r.Value))
	}
}

// withChecks appends a [checks] section asking dnsAddr, with loopback
// not trusted (the test's mail all comes from 127.0.0.1), then extra.
func (in *instance) withChecks(dnsAddr, extra string) {
	in.t.Helper()
	cfg, _ := os.ReadFile(in.config)
	cfg = append(cfg, fmt.Sprintf("[checks]\nresolver = %q\ntrusted_networks = []\npregreet_wait = \"0s\"\n%s", dnsAddr, extra)...)
	if err := os.WriteFile(in.config, cfg, 0o600); err != nil {
		in.t.Fatal(err)
	}
}

// mxSession runs one SMTP transaction on addr and returns the reply to
// the end of DATA (or the first refusal).
func mxSession(addr, from, to, msg string) string { return mxSessionFrom("", addr, from, to, msg) }

// Two Facteur binaries and a DNS server on loopback serving SPF, DKIM,
// DMARC and a DNS block list: A signs what alice submits, B receives it
// and stores it with spf=pass, dkim=pass and dmarc=pass; mail forged as
// a.test (p=reject) gets 550 at DATA; a listed client is refused with the
// list named; greylisting answers 451 and takes the retry.
func TestInboundChecksEndToEnd(t *testing.T) {
	dnsSrv := dnstest.New(t)
	dnsSrv.Add(`b.test. 300 IN MX 10 mx.b.test.`, `mx.b.test. 300 IN A 127.0.0.1`,
		`a.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"`, `_dmarc.a.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@a.test"`,
		`1.0.0.127.in-addr.arpa. 300 IN PTR mx.b.test.`)

	a, b := newInstance(t), newInstance(t)
	_, bPort, _ := net.SplitHostPort(b.smtp)
	cfg, _ := os.ReadFile(a.config)
	cfg = append(cfg, []byte("[outbound]\nresolver = \""+dnsSrv.Addr()+"\"\nport = "+bPort+"\nretry = [\"1s\"]\n")...)
	os.WriteFile(a.config, cfg, 0o600)
	b.withChecks(dnsSrv.Addr(), "dnsbl = [\"bl.test\"]\n")
	a.start()
	b.start()
	a.admin("", "domain", "add", "a.test")
	a.admin("alice password\n", "user", "add", "--password-stdin", "alice@a.test")
	b.admin("", "domain", "add", "b.test")
	b.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	a.publishDKIM(dnsSrv, "a.test")
	if !strings.Contains(b.out.String(), "Inbound checks (MX): iprev dnsbl(bl.test)") {
		t.Errorf("the start banner does not list the checks:\n%s", b.out.String())
	}

	msg := "From: Alice <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: checked\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1@a.test>\r\n\r\nHello Bob\r\n"
	if err := a.submitAs("alice@a.test", "alice password", []string{"bob@b.test"}, msg); err != nil {
		t.Fatal(err)
	}
	got := b.waitInbox("bob@b.test", 1)[0]
	ar := got[:strings.Index(got, "Received:")]
	for _, want := range []string{"Authentication-Results: mx.example.test;", "spf=pass ", "smtp.mailfrom=alice@a.test",
		"dkim=pass header.d=a.test", "dmarc=pass ", "header.from=a.test", "iprev=pass"} {
		if !strings.Contains(ar, want) {
			t.Errorf("B's copy lacks %q in\n%s", want, ar)
		}
	}

	// Forged as a.test from an address SPF does not cover for a.test's
	// envelope, unsigned: p=reject, 550 5.7.1 at the end of DATA.
	forged := strings.Replace(msg, "Subject: checked", "Subject: forged", 1)
	if r := mxSession(b.smtp, "ceo@evil.test", "bob@b.test", forged); !strings.HasPrefix(r, "550") || !strings.Contains(r, "5.7.1 The DMARC policy of a.test rejects") {
		t.Fatalf("forged p=reject mail: %q", r)
	}
	if n := len(b.inbox("bob@b.test")); n != 1 {
		t.Fatalf("bob has %d messages after the forgery", n)
	}

	// A listed client, on another instance that asks the same DNS.
	dnsSrv.Add(`1.0.0.127.listed.test. 300 IN A 127.0.0.2`, `1.0.0.127.listed.test. 300 IN TXT "see https://listed.test/127.0.0.1"`)
	c := newInstance(t)
	c.withChecks(dnsSrv.Addr(), "dnsbl = [\"listed.test\"]\n")
	c.start()
	conn, err := net.Dial("tcp", c.smtp)
	if err != nil {
		t.Fatal(err)
	}
	banner := make([]byte, 512)
	n, _ := conn.Read(banner)
	conn.Close()
	if got := string(banner[:n]); !strings.HasPrefix(got, "554 5.7.1") || !strings.Contains(got, "blocked using listed.test") {
		t.Fatalf("listed client: %q", got)
	}

	// Greylisting: 451, then the retry after the delay is taken.
	d := newInstance(t)
	d.withChecks(dnsSrv.Addr(), "dnsbl = []\ngreylist = true\ngreylist_delay = \"1s\"\n")
	d.start()
	d.admin("", "domain", "add", "b.test")
	d.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	plain := "From: someone@elsewhere.test\r\nTo: bob@b.test\r\nSubject: first contact\r\n\r\nHi\r\n"
	if r := mxSession(d.smtp, "someone@elsewhere.test", "bob@b.test", plain); !strings.HasPrefix(r, "451") || !strings.Contains(r, "4.7.1 Greylisted") {
		t.Fatalf("first attempt: %q", r)
	}
	time.Sleep(1100 * time.Millisecond) // the greylisting delay itself, not synchronisation
	if r := mxSession(d.smtp, "someone@elsewhere.test", "bob@b.test", plain); r != "250" {
		t.Fatalf("retry after the delay: %q", r)
	}
	if n := len(d.inbox("bob@b.test")); n != 1 {
		t.Fatalf("%d messages after the retry", n)
	}
}

// mxSessionFrom is mxSession from the loopback source address src ("":
// any).
func mxSessionFrom(src, addr, from, to, msg string) string {
	d := net.Dialer{Timeout: 10 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	host, _, _ := net.SplitHostPort(addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	for _, step := range []func() error{func() error { return c.Hello("client.a.test") }, func() error { return c.Mail(from) },
		func() error { return c.Rcpt(to) }} {
		if err := step(); err != nil {
			return err.Error()
		}
	}
	w, err := c.Data()
	if err != nil {
		return err.Error()
	}
	fmt.Fprint(w, msg)
	if err := w.Close(); err != nil {
		return err.Error()
	}
	c.Quit()
	return "250"
}

// A forwards mail for an alias to B. Without SRS, SPF of the original
// sender fails at B and, with no DKIM, so does DMARC (p=reject); A's ARC
// seal passes at B, which trusts a.test as a forwarder, so B takes the
// message (RFC 8617 §7.2) and says why in Authentication-Results.
func TestARCForwardingEndToEnd(t *testing.T) {
	dnsSrv := dnstest.New(t)
	dnsSrv.Add(`b.test. 300 IN MX 10 mx.b.test.`, `mx.b.test. 300 IN A 127.0.0.1`,
		`orig.test. 300 IN TXT "v=spf1 ip4:127.0.0.3 -all"`, `_dmarc.orig.test. 300 IN TXT "v=DMARC1; p=reject"`,
		`a.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"`)
	a, b := newInstance(t), newInstance(t)
	_, bPort, _ := net.SplitHostPort(b.smtp)
	a.withChecks(dnsSrv.Addr(), "dnsbl = []\n[outbound]\nresolver = \""+dnsSrv.Addr()+"\"\nport = "+bPort+"\nretry = [\"1s\"]\nsrs = false\n")
	b.withChecks(dnsSrv.Addr(), "dnsbl = []\narc_trusted_sealers = [\"a.test\"]\n")
	a.start()
	b.start()
	a.admin("", "domain", "add", "a.test")
	a.admin("", "alias", "add", "fwd@a.test", "bob@b.test")
	b.admin("", "domain", "add", "b.test")
	b.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	a.publishDKIM(dnsSrv, "a.test")
	msg := "From: Olivia <olivia@orig.test>\r\nTo: fwd@a.test\r\nSubject: forwarded\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nMessage-ID: <2@orig.test>\r\n\r\nHello\r\n"
	if r := mxSessionFrom("127.0.0.3", a.smtp, "olivia@orig.test", "fwd@a.test", msg); r != "250" {
		t.Fatalf("A refused the original: %q\n%s", r, a.out.String())
	}
	got := b.waitInbox("bob@b.test", 1)[0]
	top := got[:strings.Index(got, "\r\n\r\n")]
	for _, want := range []string{"ARC-Seal: i=1;", "cv=none", "ARC-Message-Signature: i=1;", "d=a.test", "spf=fail", "arc=pass",
		"dmarc=fail", "override=trusted_forwarder"} {
		if !strings.Contains(top, want) {
			t.Errorf("B's copy lacks %q:\n%s", want, top)
		}
	}
	// The same forged at B directly, from an address orig.test does not
	// allow and with no seal: refused.
	if r := mxSession(b.smtp, "olivia@orig.test", "bob@b.test", msg); !strings.HasPrefix(r, "550") {
		t.Fatalf("unsealed forgery: %q", r)
	}
}

// With no DNS server answering and every check's on_error "accept" (the
// development instance's default), mail is accepted and the results say
// temperror; with the production default, DMARC's failure asks the
// sender to retry.
func TestChecksWithoutDNS(t *testing.T) {
	dead := freePort(t) // nothing listens there
	accept := newInstance(t)
	accept.withChecks(dead, "dnsbl = []\ntimeout = \"3s\"\non_error = { spf = \"accept\", dkim = \"accept\", dmarc = \"accept\", iprev = \"accept\", dnsbl = \"accept\" }\n")
	accept.start()
	accept.admin("", "domain", "add", "b.test")
	accept.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	msg := "From: someone@elsewhere.test\r\nTo: bob@b.test\r\nSubject: no dns\r\n\r\nHi\r\n"
	if r := mxSession(accept.smtp, "someone@elsewhere.test", "bob@b.test", msg); r != "250" {
		t.Fatalf("accept policy: %q", r)
	}
	got := accept.waitInbox("bob@b.test", 1)[0]
	for _, want := range []string{"spf=temperror", "dmarc=temperror"} {
		if !strings.Contains(got[:strings.Index(got, "Received:")], want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	strict := newInstance(t)
	strict.withChecks(dead, "dnsbl = []\ntimeout = \"3s\"\n")
	strict.start()
	strict.admin("", "domain", "add", "b.test")
	strict.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	if r := mxSession(strict.smtp, "someone@elsewhere.test", "bob@b.test", msg); !strings.HasPrefix(r, "451") || !strings.Contains(r, "4.4.3") {
		t.Fatalf("tempfail policy: %q", r)
	}
}
