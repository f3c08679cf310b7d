package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	fdkim "facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/dns/dnstest"
)

// The sender lists as an administrator keeps them: per user, one rule
// per domain, names in either IDN form, mistakes told apart from
// success by the exit status.
func TestSenderCLI(t *testing.T) {
	in := newInstance(t)
	in.admin("", "domain", "add", "b.test")
	in.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	in.admin("carol password\n", "user", "add", "--password-stdin", "carol@b.test")
	for _, step := range []struct{ args, out string }{
		{"block Bob@B.test a.test", "bob@b.test: block a.test\n"},
		{"allow bob@b.test *.XN--BCHER-KVA.test", "bob@b.test: allow *.bücher.test\n"},
		{"allow bob@b.test A.TEST.", "bob@b.test: allow a.test (was block)\n"},
		{"block carol@b.test spam.test", "carol@b.test: block spam.test\n"},
		{"list bob@b.test", "allow *.bücher.test\nallow a.test\n"},
		{"delete bob@b.test *.bücher.test", "bob@b.test: rule for *.bücher.test deleted\n"},
		{"list bob@b.test", "allow a.test\n"},
		{"list carol@b.test", "block spam.test\n"},
	} {
		if got := in.admin("", append([]string{"sender"}, strings.Fields(step.args)...)...); got != step.out {
			t.Errorf("facteur sender %s: %q, want %q", step.args, got, step.out)
		}
	}
	for _, bad := range []struct {
		args, msg string
		code      int
	}{
		{"del bob@b.test *.bücher.test", "the rule for *.bücher.test of bob@b.test not found", 1},
		{"delete carol@b.test a.test", "the rule for a.test of carol@b.test not found", 1},
		{"allow nobody@b.test a.test", "user nobody@b.test not found", 1},
		{"allow bob@b.test news@a.test", "is neither a domain nor *.domain", 1},
		{"allow bob@b.test *", "is neither a domain nor *.domain", 1},
		{"allow bob@b.test", "usage: facteur sender allow ADDRESS DOMAIN|", 2},
		{"forget bob@b.test a.test", "usage: facteur sender", 2},
	} {
		out, code := in.run(append([]string{"sender"}, strings.Fields(bad.args)...)...)
		if code != bad.code || !strings.Contains(out, bad.msg) {
			t.Errorf("facteur sender %s: exit %d, %q; want %d, %q", bad.args, code, out, bad.code, bad.msg)
		}
	}
	if got := in.admin("", "sender", "list", "bob@b.test"); got != "allow a.test\n" {
		t.Errorf("the failed commands changed bob's rules: %q", got)
	}
	if out, code := in.run("sender", "--help"); code != 0 || !strings.Contains(out, "block wins") || !strings.Contains(out, "*.a.test (every domain below") {
		t.Errorf("sender --help: exit %d\n%s", code, out)
	}
}

// The running server applies each user's lists to mail its checks
// authenticated, and only to that. a.test's DMARC policy is quarantine.
// A message signed by a.test reaches bob, who blocks a.test, in Junk and
// carol, who allows it, in her INBOX. A forgery (From a.test, unsigned,
// from another envelope domain) fails DMARC and is quarantined for both:
// carol's allow does not apply to it.
func TestSenderListsEndToEnd(t *testing.T) {
	dnsSrv := dnstest.New(t)
	dnsSrv.Add(`a.test. 300 IN TXT "v=spf1 -all"`, `_dmarc.a.test. 300 IN TXT "v=DMARC1; p=quarantine"`)
	keys := fdkim.New(filepath.Join(t.TempDir(), "signer"))
	if err := keys.Generate("a.test"); err != nil {
		t.Fatal(err)
	}
	recs, err := keys.Records("a.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		dnsSrv.Add(dnstest.TXT(r.Name, r.Value))
	}
	b := newInstance(t)
	b.withChecks(dnsSrv.Addr(), "dnsbl = []\n")
	b.start()
	b.admin("", "domain", "add", "b.test")
	b.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	b.admin("carol password\n", "user", "add", "--password-stdin", "carol@b.test")
	b.admin("", "sender", "block", "bob@b.test", "a.test")
	b.admin("", "sender", "allow", "carol@b.test", "a.test")

	msg := "From: News <news@a.test>\r\nTo: bob@b.test, carol@b.test\r\nSubject: signed\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nMessage-ID: <s@a.test>\r\n\r\nHello\r\n"
	sig, err := keys.Sign(context.Background(), "a.test", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	rcpts := []string{"bob@b.test", "carol@b.test"}
	if err := sendMX(b.smtp, "news@a.test", rcpts, []byte(sig+msg)); err != nil {
		t.Fatal(err)
	}
	forged := strings.NewReplacer("Subject: signed", "Subject: forged", "<s@a.test>", "<f@evil.test>").Replace(msg)
	if err := sendMX(b.smtp, "ceo@evil.test", rcpts, []byte(forged)); err != nil {
		t.Fatal(err)
	}

	subjects := func(user, mailbox string) string {
		var out []string
		for _, m := range b.mailbox(user, mailbox) {
			_, rest, _ := strings.Cut(m, "\r\nSubject: ")
			subject, _, _ := strings.Cut(rest, "\r\n")
			out = append(out, subject)
		}
		return strings.Join(out, "|")
	}
	for _, w := range []struct{ user, mailbox, subjects string }{
		{"bob@b.test", "INBOX", ""}, {"bob@b.test", "Junk", "signed|forged"},
		{"carol@b.test", "INBOX", "signed"}, {"carol@b.test", "Junk", "forged"},
	} {
		if got := subjects(w.user, w.mailbox); got != w.subjects {
			t.Errorf("%s's %s holds %q, want %q", w.user, w.mailbox, got, w.subjects)
		}
	}
	if got := b.inbox("carol@b.test"); len(got) != 1 || !strings.Contains(got[0], "dmarc=pass") ||
		!strings.Contains(got[0], "\r\nX-Facteur-Sender-List: allow a.test (dkim=pass header.d=a.test)\r\n") {
		t.Errorf("carol's INBOX:\n%s\n%s", got, b.out.String())
	}
}
