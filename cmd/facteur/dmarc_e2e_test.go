package main

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"facteur.dev/facteur/internal/dns/dnstest"
)

// stop ends the server as a service manager would (SIGTERM) and waits.
func (in *instance) stop() {
	in.t.Helper()
	in.cmd.Process.Signal(syscall.SIGTERM)
	if err := in.cmd.Wait(); err != nil {
		in.t.Fatalf("server exit: %v\n%s", err, in.out.String())
	}
}

// DMARC aggregate reports both ways between two binaries: alice@a.test
// (p=reject; rua=mailto:dmarc@a.test) writes to bob@b.test; B counts the
// evaluation, writes it when it stops, and `dmarc send` reports it (dry
// first) through B's queue to A, whose delivery stores the report; A's
// `dmarc reports a.test` shows the pass from 127.0.0.1 reported by B, and
// `dmarc import` finds it stored already.
func TestDMARCReportsEndToEnd(t *testing.T) {
	dnsSrv := dnstest.New(t)
	dnsSrv.Add(`b.test. 300 IN MX 10 mx.b.test.`, `mx.b.test. 300 IN A 127.0.0.1`,
		`a.test. 300 IN MX 10 mx.a.test.`, `mx.a.test. 300 IN A 127.0.0.1`,
		`a.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"`, `_dmarc.a.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@a.test"`,
		`1.0.0.127.in-addr.arpa. 300 IN PTR mx.b.test.`)
	a, b := newInstance(t), newInstance(t)
	outbound := func(in, to *instance) {
		_, port, _ := net.SplitHostPort(to.smtp)
		cfg, _ := os.ReadFile(in.config)
		cfg = append(cfg, []byte("[outbound]\nresolver = \""+dnsSrv.Addr()+"\"\nport = "+port+"\nretry = [\"1s\"]\n")...)
		os.WriteFile(in.config, cfg, 0o600)
		in.withChecks(dnsSrv.Addr(), "dnsbl = []\n")
	}
	outbound(a, b)
	outbound(b, a)
	a.start()
	b.start()
	a.admin("", "domain", "add", "a.test")
	a.admin("alice password\n", "user", "add", "--password-stdin", "alice@a.test")
	a.admin("dmarc password\n", "user", "add", "--password-stdin", "dmarc@a.test")
	b.admin("", "domain", "add", "b.test")
	b.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	a.publishDKIM(dnsSrv, "a.test")
	if !strings.Contains(b.out.String(), "dmarc+reports") {
		t.Errorf("the banner does not say DMARC evaluations are kept for reports:\n%s", b.out.String())
	}

	msg := "From: Alice <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: counted\r\nMessage-ID: <r1@a.test>\r\n\r\nHello\r\n"
	if err := a.submitAs("alice@a.test", "alice password", []string{"bob@b.test"}, msg); err != nil {
		t.Fatal(err)
	}
	if got := b.waitInbox("bob@b.test", 1)[0]; !strings.Contains(got, "dmarc=pass") {
		t.Fatalf("B's copy:\n%s", got)
	}
	b.stop() // writes the counts still in memory
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	dry := b.admin("", "dmarc", "send", "--dry-run", "--until", tomorrow)
	if !strings.Contains(dry, "dry run") || !strings.Contains(dry, "a.test ") ||
		!strings.Contains(dry, ": 1 records, 1 messages, ") || !strings.Contains(dry, "-> dmarc@a.test: would send") {
		t.Fatalf("dmarc send --dry-run:\n%s", dry)
	}
	if sent := b.admin("", "dmarc", "send", "--until", tomorrow); !strings.Contains(sent, "-> dmarc@a.test: sent") {
		t.Fatalf("dmarc send:\n%s", sent)
	}
	if again := b.admin("", "dmarc", "send", "--until", tomorrow); !strings.Contains(again, "no DMARC evaluations to report") {
		t.Fatalf("the rows were not deleted once sent:\n%s", again)
	}
	b.start() // its queue sends the report to A

	report := a.waitInbox("dmarc@a.test", 1)[0]
	for _, want := range []string{"Subject: Report Domain: a.test Submitter: mx.example.test Report-ID: <",
		"Content-Type: application/gzip", "!a.test!", ".xml.gz\""} {
		if !strings.Contains(report, want) {
			t.Fatalf("the report message lacks %q:\n%s", want, report)
		}
	}
	today := time.Now().UTC().Format(time.DateOnly)
	out := a.admin("", "dmarc", "reports", "a.test")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "DAY SOURCE IP PASS FAIL" ||
		strings.Join(strings.Fields(lines[1]), " ") != today+" 127.0.0.1 1 0 mx.example.test" ||
		lines[2] != "1 report(s): 1 messages passed DMARC, 0 failed." {
		t.Fatalf("dmarc reports a.test:\n%s", out)
	}
	if got := a.admin("", "dmarc", "import", "dmarc@a.test"); !strings.Contains(got, ": already stored") ||
		!strings.Contains(got, "0 report(s) stored, 1 already stored, 0 skipped") {
		t.Fatalf("dmarc import:\n%s", got)
	}
	if got := a.admin("", "dmarc", "reports", "b.test"); !strings.Contains(got, "No DMARC reports about b.test in the last 7 days.") {
		t.Fatalf("reports of a domain with none:\n%s", got)
	}
}
