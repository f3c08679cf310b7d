package dkim

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
	mdns "github.com/miekg/dns"

	signer "facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/dns/dnstest"
)

const message = "From: Alice <alice@a.example>\r\nTo: bob@b.example\r\nSubject: signed\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@a.example>\r\n\r\nHello, Bob.\r\n"

// signed returns message signed with a.example's RSA and Ed25519 keys,
// whose records srv then serves.
func signed(t *testing.T, srv *dnstest.Server) string {
	t.Helper()
	keys := signer.New(t.TempDir())
	if err := keys.Generate("a.example"); err != nil {
		t.Fatal(err)
	}
	h, err := keys.Sign(context.Background(), "a.example", strings.NewReader(message))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := keys.Records("a.example")
	if err != nil || len(recs) != 2 {
		t.Fatalf("records: %v %v", recs, err)
	}
	for _, r := range recs {
		srv.Add(dnstest.TXT(r.Name, r.Value))
	}
	return h + message
}

func verify(t *testing.T, srv *dnstest.Server, msg string) []string {
	t.Helper()
	c := &Check{Resolver: dns.New(srv.Addr())}
	var out []string
	for _, r := range c.Verify(context.Background(), strings.NewReader(msg)) {
		d := r.(*authres.DKIMResult)
		out = append(out, string(d.Value)+" "+d.Domain)
	}
	return out
}

func TestVerify(t *testing.T) {
	srv := dnstest.New(t)
	msg := signed(t, srv)
	if got := verify(t, srv, msg); strings.Join(got, ",") != "pass a.example,pass a.example" {
		t.Fatalf("Ed25519 and RSA: %v", got)
	}
	// What a receiving server prepends does not matter.
	if got := verify(t, srv, "Received: from x\r\n"+msg); strings.Join(got, ",") != "pass a.example,pass a.example" {
		t.Fatalf("after a Received header: %v", got)
	}
	tampered := strings.Replace(msg, "Hello, Bob.", "Send money.", 1)
	if got := verify(t, srv, tampered); strings.Join(got, ",") != "fail a.example,fail a.example" {
		t.Fatalf("tampered body: %v", got)
	}
	if got := verify(t, srv, message); strings.Join(got, ",") != "none " {
		t.Fatalf("unsigned: %v", got)
	}
}

func TestVerifyKeyProblems(t *testing.T) {
	srv := dnstest.New(t)
	msg := signed(t, srv)
	other := dnstest.New(t) // no keys published
	if got := verify(t, other, msg); strings.Join(got, ",") != "permerror a.example,permerror a.example" {
		t.Fatalf("no key: %v", got)
	}
	other.Fail("facteur-ed25519._domainkey.a.example", mdns.RcodeServerFailure)
	other.Fail("facteur-rsa._domainkey.a.example", mdns.RcodeServerFailure)
	if got := verify(t, other, msg); strings.Join(got, ",") != "temperror a.example,temperror a.example" {
		t.Fatalf("DNS failure: %v", got)
	}
}

// Garbage signatures give clear results, never a crash.
func TestVerifyGarbage(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(`bad._domainkey.a.example. 300 IN TXT "v=DKIM1; k=rsa; p=!!!notbase64"`)
	for name, sig := range map[string]string{
		"no tags":     "DKIM-Signature: garbage\r\n",
		"bad key":     "DKIM-Signature: v=1; a=rsa-sha256; d=a.example; s=bad; h=from; bh=AAAA; b=AAAA\r\n",
		"bad version": "DKIM-Signature: v=9; a=rsa-sha256; d=a.example; s=x; h=from; bh=AAAA; b=AAAA\r\n",
		"no from":     "DKIM-Signature: v=1; a=rsa-sha256; d=a.example; s=x; h=subject; bh=AAAA; b=AAAA\r\n",
		"binary":      "DKIM-Signature: v=1; \x00\xff; d=\r\n",
	} {
		got := verify(t, srv, sig+message)
		if len(got) != 1 || !strings.HasPrefix(got[0], "permerror") && !strings.HasPrefix(got[0], "fail") {
			t.Errorf("%s: %v", name, got)
		}
	}
	many := strings.Repeat("DKIM-Signature: v=1; a=rsa-sha256; d=a.example; s=x; h=from; bh=AAAA; b=AAAA\r\n", 50)
	if got := verify(t, srv, many+message); len(got) != MaxSignatures {
		t.Fatalf("%d results for 50 signatures, want %d", len(got), MaxSignatures)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("DKIM-Signature: v=1; a=rsa-sha256; d=a.example; s=x; h=from; bh=AAAA; b=AAAA\r\n" + message)
	f.Add("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/simple; d=a.example; s=x; h=from:to; l=3; bh=AAAA; b=AAAA\r\n" + message)
	srv := dnstest.New(f)
	srv.Add(`x._domainkey.a.example. 300 IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="`)
	c := &Check{Resolver: dns.New(srv.Addr())}
	f.Fuzz(func(t *testing.T, msg string) {
		if len(c.Verify(context.Background(), strings.NewReader(msg))) == 0 {
			t.Fatal("no result")
		}
	})
}
