package dkim

import (
	"context"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

func TestSignVerifies(t *testing.T) {
	k := New(t.TempDir())
	if err := k.Generate("a.test"); err != nil {
		t.Fatal(err)
	}
	recs, err := k.Records("a.test")
	if err != nil || len(recs) != 2 {
		t.Fatalf("records %v %v", recs, err)
	}
	txt := map[string]string{}
	for _, r := range recs {
		txt[r.Name] = r.Value
	}
	msg := "From: <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: hi\r\n\r\nHello\r\n"
	h, err := k.Sign(context.Background(), "a.test", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := dkim.VerifyWithOptions(strings.NewReader(h+msg), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return []string{txt[name]}, nil }})
	if err != nil || len(vs) != 2 {
		t.Fatalf("verify: %v %v", vs, err)
	}
	for _, v := range vs {
		if v.Err != nil || v.Domain != "a.test" {
			t.Fatalf("verification %+v", v)
		}
	}
	if h, err := k.Sign(context.Background(), "other.test", strings.NewReader(msg)); h != "" || err != nil {
		t.Fatalf("no key: %q %v", h, err)
	}
}

func TestSigners(t *testing.T) {
	k := New(t.TempDir())
	if ks, err := k.Signers("a.test"); len(ks) != 0 || err != nil {
		t.Fatalf("no keys: %v %v", ks, err)
	}
	if err := k.Generate("a.test"); err != nil {
		t.Fatal(err)
	}
	ks, err := k.Signers("A.test")
	if err != nil || len(ks) != 2 || ks[0].Selector != SelectorEd25519 || ks[1].Selector != SelectorRSA {
		t.Fatalf("keys: %v %v", ks, err)
	}
	if _, ok := ks[1].Signer.Public().(*rsa.PublicKey); !ok {
		t.Fatalf("second key is %T, want RSA", ks[1].Signer.Public())
	}
}
