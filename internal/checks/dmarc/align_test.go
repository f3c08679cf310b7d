package dmarc

import (
	"context"
	"testing"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
)

func TestAligned(t *testing.T) {
	t.Parallel()
	_, c := zone(t, txt("example.com", "v=DMARC1; p=reject"), txt("example", "v=DMARC1; p=none; psd=y"))
	tests := []struct {
		author, id string
		mode       Alignment
		want       bool
	}{
		{"example.com", "example.com", Strict, true},
		{"news.example.com", "example.com", Strict, false},
		{"news.example.com", "example.com", Relaxed, true},
		{"news.example.com", "bounce.example.com", Relaxed, true},
		{"example.com", "a.b.example.com", Relaxed, true},
		{"example.com", "example.net", Relaxed, false},
		{"example.com", "com", Relaxed, false},              // "com" has no record: not an organizational domain
		{"a.shop.example", "b.shop.example", Relaxed, true}, // both under shop.example, below the psd=y record
		{"shop.example", "other.example", Relaxed, false},
		{"example.com", "", Relaxed, false},
	}
	w := newWalker(c)
	for _, tt := range tests {
		if got, err := w.aligned(context.Background(), tt.author, tt.id, tt.mode); err != nil || got != tt.want {
			t.Errorf("aligned(%q, %q, %s) = %v, %v; want %v", tt.author, tt.id, tt.mode, got, err, tt.want)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	t.Parallel()
	tx := &delivery.Transaction{Conn: &delivery.Conn{Helo: "mx.example.net"}, From: "b@Bounce.Example.COM",
		Results: []authres.Result{
			&authres.SPFResult{Value: authres.ResultPass, From: "b@bounce.example.com"},
			&authres.DKIMResult{Value: authres.ResultPass, Domain: "Example.com"},
			&authres.DKIMResult{Value: authres.ResultFail, Domain: "bücher.example"},
		}}
	ids := identifiersOf(tx)
	if ids.spf != (SPFAuth{"bounce.example.com", "mfrom", authres.ResultPass}) {
		t.Errorf("SPF: %+v", ids.spf)
	}
	if len(ids.dkim) != 2 || ids.dkim[0].Domain != "example.com" || ids.dkim[1].Domain != "xn--bcher-kva.example" {
		t.Errorf("DKIM: %+v", ids.dkim)
	}
	// The null reverse-path: SPF checked postmaster@<HELO> (RFC 7208 §2.4).
	tx = &delivery.Transaction{Conn: &delivery.Conn{Helo: "mx.example.net"},
		Results: []authres.Result{&authres.SPFResult{Value: authres.ResultPass, Helo: "mx.example.net"}}}
	if ids := identifiersOf(tx); ids.spf != (SPFAuth{"mx.example.net", "helo", authres.ResultPass}) {
		t.Errorf("null sender: %+v", ids.spf)
	}
}
