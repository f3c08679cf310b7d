package senderlist

import (
	"context"
	"errors"
	"testing"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/store"
)

// lists is a store.SenderLists in memory that counts its reads.
type lists struct {
	rules map[int64][]store.SenderRule
	err   error
	reads int
}

func (l *lists) SenderRules(ctx context.Context, id int64) ([]store.SenderRule, error) {
	l.reads++
	return l.rules[id], l.err
}
func (l *lists) SetSenderRule(context.Context, int64, store.SenderRule) error { return nil }
func (l *lists) DeleteSenderRule(context.Context, int64, string) error        { return nil }

func allow(d string) store.SenderRule { return store.SenderRule{Kind: store.SenderAllow, Domain: d} }
func block(d string) store.SenderRule { return store.SenderRule{Kind: store.SenderBlock, Domain: d} }

func dmarc(v authres.ResultValue, from string) authres.Result {
	return &authres.DMARCResult{Value: v, From: from}
}
func dkim(v authres.ResultValue, d string) authres.Result {
	return &authres.DKIMResult{Value: v, Domain: d}
}

const pass, fail = authres.ResultPass, authres.ResultFail

// copyOf runs the filter over one account's copy of a message with
// results, filed by the checks in mailbox.
func copyOf(t *testing.T, l *lists, account int64, mailbox string, results ...authres.Result) *delivery.Copy {
	t.Helper()
	env := &delivery.Envelope{Mailbox: mailbox, Results: results}
	c := &delivery.Copy{Account: store.Account{ID: account, Address: "u@example.test"}, Mailbox: mailbox}
	if err := New(l, nil).FilterCopy(context.Background(), env, delivery.Received{}, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// What one account's rules do with the copy of a message the checks
// filed in mailbox with results.
func TestFilter(t *testing.T) {
	hdr := func(v string) string { return HeaderField + ": " + v + "\r\n" }
	for _, tt := range []struct {
		name          string
		rules         []store.SenderRule
		mailbox       string
		results       []authres.Result
		want, wantHdr string
	}{
		{"an allowed author leaves the quarantine", []store.SenderRule{allow("a.test")}, "Junk",
			[]authres.Result{dmarc(pass, "a.test")}, "", hdr("allow a.test (dmarc=pass header.from=a.test)")},
		// Mail that names a.test in From without authenticating as it:
		// DMARC failed, a.test's signature did not verify, SPF passed
		// for a.test's envelope (not an identity here), and a signature
		// of the forger's own domain verified.
		{"a forged From matches nothing", []store.SenderRule{allow("a.test"), allow("*.a.test")}, "Junk",
			[]authres.Result{&authres.SPFResult{Value: pass, From: "ceo@a.test"}, dkim(fail, "a.test"), dkim(pass, "evil.test"),
				dkim(authres.ResultTempError, "news.a.test"), dmarc(fail, "a.test"), dmarc(authres.ResultNone, "news.a.test")},
			"Junk", ""},
		{"a blocked signer goes to Junk", []store.SenderRule{block("b.test")}, "",
			[]authres.Result{dkim(fail, "x.test"), dkim(pass, "B.Test")}, "Junk", hdr("block b.test (dkim=pass header.d=b.test)")},
		{"a name below an allowed *.domain", []store.SenderRule{allow("*.mail.test")}, "Junk",
			[]authres.Result{dmarc(pass, "news.mail.test")}, "", hdr("allow *.mail.test (dmarc=pass header.from=news.mail.test)")},
		{"block wins: one identity, two rules", []store.SenderRule{allow("*.mail.test"), block("spam.mail.test")}, "",
			[]authres.Result{dmarc(pass, "spam.mail.test")}, "Junk", hdr("block spam.mail.test (dmarc=pass header.from=spam.mail.test)")},
		{"block wins: author allowed, signer blocked", []store.SenderRule{allow("a.test"), block("b.test")}, "",
			[]authres.Result{dmarc(pass, "a.test"), dkim(pass, "b.test")}, "Junk", hdr("block b.test (dkim=pass header.d=b.test)")},
		{"internationalised names", []store.SenderRule{block("*.bücher.test")}, "",
			[]authres.Result{dkim(pass, "news.xn--bcher-kva.test")}, "Junk",
			hdr("block *.xn--bcher-kva.test (dkim=pass header.d=news.xn--bcher-kva.test)")},
	} {
		l := &lists{rules: map[int64][]store.SenderRule{1: tt.rules}}
		c := copyOf(t, l, 1, tt.mailbox, tt.results...)
		if c.Mailbox != tt.want || c.Headers != tt.wantHdr || c.Discard {
			t.Errorf("%s: mailbox %q, headers %q, discard %v; want %q, %q", tt.name, c.Mailbox, c.Headers, c.Discard, tt.want, tt.wantHdr)
		}
	}
}

// One account's rules never apply to another's copy of the message.
func TestRulesArePerAccount(t *testing.T) {
	l := &lists{rules: map[int64][]store.SenderRule{1: {block("b.test")}, 2: {allow("a.test")}}}
	results := []authres.Result{dkim(pass, "b.test")}
	if c := copyOf(t, l, 1, "", results...); c.Mailbox != "Junk" {
		t.Fatalf("account 1 blocks b.test, its copy went to %q", c.Mailbox)
	}
	if c := copyOf(t, l, 2, "", results...); c.Mailbox != "" || c.Headers != "" {
		t.Fatalf("account 2's copy: mailbox %q, headers %q", c.Mailbox, c.Headers)
	}
	if c := copyOf(t, l, 1, "Junk", dmarc(pass, "a.test")); c.Mailbox != "Junk" {
		t.Fatalf("account 2's allow applied to account 1: %q", c.Mailbox)
	}
}

// An allow undoes what the checks decided (Envelope.Mailbox), not the
// mailbox a filter run before chose.
func TestAllowKeepsAnEarlierFiltersMailbox(t *testing.T) {
	l := &lists{rules: map[int64][]store.SenderRule{1: {allow("a.test")}}}
	env := &delivery.Envelope{Mailbox: "Junk", Results: []authres.Result{dmarc(pass, "a.test")}}
	c := &delivery.Copy{Account: store.Account{ID: 1}, Mailbox: "Lists/a"}
	if err := New(l, nil).FilterCopy(context.Background(), env, delivery.Received{}, c); err != nil || c.Mailbox != "Lists/a" {
		t.Fatalf("mailbox %q, err %v", c.Mailbox, err)
	}
}

// Mail nothing authenticated is not looked up; lists that cannot be
// read leave the copy where the checks filed it (a quarantine stays).
func TestNoIdentityAndStoreFailure(t *testing.T) {
	l := &lists{rules: map[int64][]store.SenderRule{1: {block("b.test")}}}
	if c := copyOf(t, l, 1, "", dmarc(fail, "b.test"), dmarc(authres.ResultNone, "")); c.Mailbox != "" || l.reads != 0 {
		t.Fatalf("mailbox %q after %d reads", c.Mailbox, l.reads)
	}
	l = &lists{rules: map[int64][]store.SenderRule{1: {allow("a.test")}}, err: errors.New("disk I/O error")}
	if c := copyOf(t, l, 1, "Junk", dmarc(pass, "a.test")); c.Mailbox != "Junk" || c.Headers != "" {
		t.Fatalf("unreadable lists: mailbox %q, headers %q", c.Mailbox, c.Headers)
	}
}

func TestMatches(t *testing.T) {
	for _, tt := range []struct {
		pattern, domain string
		want            bool
	}{
		{"a.test", "a.test", true},
		{"a.test", "news.a.test", false},
		{"a.test", "evila.test", false},
		{"*.a.test", "news.a.test", true},
		{"*.a.test", "x.news.a.test", true},
		{"*.a.test", "a.test", false},
		{"*.a.test", "evila.test", false},
		{"*.a.test", "a.test.evil.test", false},
	} {
		if got := Matches(tt.pattern, tt.domain); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v", tt.pattern, tt.domain, got)
		}
	}
}

func TestParseDomain(t *testing.T) {
	for in, want := range map[string]string{
		"A.Test": "a.test", "a.test.": "a.test", "*.A.test": "*.a.test",
		"xn--bcher-kva.test": "bücher.test", "*.BÜCHER.test": "*.bücher.test",
	} {
		if got, err := ParseDomain(in); got != want || err != nil {
			t.Errorf("ParseDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "*", "*.", "**.a.test", "a.*.test", "user@a.test", "a..test", ".a.test", "[192.0.2.1]", "a b.test"} {
		if got, err := ParseDomain(in); err == nil {
			t.Errorf("ParseDomain(%q) = %q, want an error", in, got)
		}
	}
}
