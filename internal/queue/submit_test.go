package queue

import (
	"context"
	"net"
	"net/netip"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/foxcpp/go-mockdns"

	"facteur.dev/facteur/internal/auth"
	fdkim "facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/smtpd"
	"facteur.dev/facteur/internal/testutil"
)

const testPassword = "correct horse battery"

// serveSubmission starts a submission listener for s, AUTH allowed
// without TLS from loopback.
func (s *site) serveSubmission(user string) string {
	s.t.Helper()
	hash, err := auth.HashPassword(testPassword, auth.Params{Memory: 1024, Time: 1, Threads: 1})
	if err != nil {
		s.t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.store.SetPassword(ctx, user+"@"+s.domain, hash, ""); err != nil {
		s.t.Fatal(err)
	}
	srv := smtpd.New(smtpd.Options{Mode: smtpd.Submission, Hostname: "mx." + s.domain, Pipeline: s.pipeline,
		Auth:              auth.New(auth.StoreLookup{Accounts: s.store}, auth.Options{FailureDelay: time.Millisecond}),
		PlaintextNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	l := testutil.Listen(s.t)
	go srv.Serve(l)
	s.t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// submit sends msg with net/smtp, authenticated as user.
func submit(t *testing.T, addr, user, from string, to []string, msg string) {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	a := smtp.PlainAuth("", user, testPassword, "localhost")
	if err := smtp.SendMail("localhost:"+port, a, from, to, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// An authenticated user of a.test sends to b.test: the message arrives in
// bob's INBOX with two DKIM signatures (Ed25519, RSA) that verify against
// the keys published in DNS.
func TestSubmissionSignedAndDelivered(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	b := newSite(t, "b.test", "bob")
	b.serveMX(nil)
	keys := fdkim.New(t.TempDir())
	if err := keys.Generate("a.test"); err != nil {
		t.Fatal(err)
	}
	a.pipeline.SetSigner(keys)
	recs, err := keys.Records("a.test")
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]mockdns.Zone{
		"b.test.":    {MX: []net.MX{{Host: "mx.b.test.", Pref: 10}}},
		"mx.b.test.": {A: []string{"127.0.0.1"}},
	}
	for _, r := range recs {
		zones[r.Name+"."] = mockdns.Zone{TXT: []string{r.Value}}
	}
	dnsAddr := dnsServer(t, zones)
	r := a.startRunner(dnsAddr, func(o *Options) { o.Port = b.port() })
	a.pipeline.OnQueued(r.Kick)
	sub := a.serveSubmission("alice")
	submit(t, sub, "alice@a.test", "alice@a.test", []string{"bob@b.test"},
		"From: Alice <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: signed\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n\r\nHello Bob\r\n")
	got := b.waitInbox("bob", 1)[0]
	if !strings.Contains(got, "Hello Bob") {
		t.Fatalf("message %q", got)
	}
	res := &DNSResolver{Server: dnsAddr, Timeout: 2 * time.Second}
	vs, err := dkim.VerifyWithOptions(strings.NewReader(got), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return res.LookupTXT(context.Background(), name) }})
	if err != nil || len(vs) != 2 {
		t.Fatalf("verify: %d verifications, %v\n%s", len(vs), err, got)
	}
	for _, v := range vs {
		if v.Err != nil || v.Domain != "a.test" {
			t.Fatalf("signature by %s: %v\n%s", v.Domain, v.Err, got)
		}
	}
}

// Submission advertises DSN and keeps NOTIFY, ORCPT, RET and ENVID for the
// queue (RFC 3461).
func TestSubmissionDSNParameters(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	sub := a.serveSubmission("alice")
	c := testutil.Dial(t, sub)
	c.Expect("", "220")
	c.Send("EHLO client.test")
	ehlo := c.Reply()
	// REQUIRETLS is offered only once TLS is up (RFC 8689 §4.1).
	if !strings.Contains(ehlo, "250-DSN") || strings.Contains(ehlo, "REQUIRETLS") {
		t.Errorf("EHLO: %q", ehlo)
	}
	c.Send("AUTH PLAIN " + plain("alice@a.test", testPassword))
	c.Expect("", "235")
	c.Send("MAIL FROM:<alice@a.test> RET=HDRS ENVID=env+2B1")
	c.Expect("", "250")
	c.Send("RCPT TO:<x@remote.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;orig@remote.test")
	c.Expect("", "250")
	c.Send("DATA")
	c.Expect("", "354")
	c.Send("From: <alice@a.test>\r\nSubject: dsn\r\n\r\nbody\r\n.")
	c.Expect("", "250")
	q := a.queue()
	if len(q) != 1 {
		t.Fatalf("queue %+v", q)
	}
	e := q[0]
	if e.Ret != "HDRS" || e.EnvID != "env+1" || e.Status[0].Notify != "SUCCESS,DELAY" ||
		e.Status[0].ORcpt != "rfc822;orig@remote.test" {
		t.Fatalf("entry %+v", e)
	}
}

// NOTIFY=SUCCESS for a local recipient: the sender gets a "delivered"
// DSN (RFC 3461 §4.1), and none without it.
func TestDeliveredDSNForLocalRecipient(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice", "carol")
	sub := a.serveSubmission("alice")
	c := testutil.Dial(t, sub)
	c.Expect("", "220")
	c.Send("EHLO client.test")
	c.Reply()
	c.Send("AUTH PLAIN " + plain("alice@a.test", testPassword))
	c.Expect("", "235")
	for _, notify := range []string{" NOTIFY=SUCCESS,FAILURE", ""} {
		c.Send("MAIL FROM:<alice@a.test> ENVID=e1")
		c.Expect("", "250")
		c.Send("RCPT TO:<carol@a.test>" + notify)
		c.Expect("", "250")
		c.Send("DATA")
		c.Expect("", "354")
		c.Send("From: <alice@a.test>\r\nSubject: local" + notify + "\r\n\r\nbody\r\n.")
		c.Expect("", "250")
	}
	a.waitInbox("carol", 2)
	got := a.inbox("alice")
	if len(got) != 1 {
		t.Fatalf("%d reports for alice", len(got))
	}
	for _, want := range []string{"Action: delivered", "Final-Recipient: rfc822; carol@a.test", "Status: 2.0.0",
		"Original-Envelope-Id: e1", "Subject: local NOTIFY=SUCCESS,FAILURE"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("report lacks %q:\n%s", want, got[0])
		}
	}
}
