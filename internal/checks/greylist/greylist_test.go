package greylist

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func tx(ip, from string, rcpts ...string) *delivery.Transaction {
	t := delivery.NewTransaction(&delivery.Conn{IP: netip.MustParseAddr(ip)}, from, nil)
	for _, r := range rcpts {
		t.Rcpts = append(t.Rcpts, &delivery.Recipient{Address: r})
	}
	return t
}

func answer(t *testing.T, c *Check, x *delivery.Transaction) string {
	t.Helper()
	v, err := c.Data(context.Background(), x, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Reply == nil {
		return "accept"
	}
	return v.Reply.Error()
}

func TestGreylist(t *testing.T) {
	clk := &clock{time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	c := &Check{Now: clk.now, Delay: time.Minute}
	first := tx("192.0.2.10", "s@remote.example", "alice@example.test")
	if a := answer(t, c, first); !strings.HasPrefix(a, "451 4.7.1 Greylisted, please try again in 60 seconds") {
		t.Fatalf("first attempt: %s", a)
	}
	clk.advance(20 * time.Second)
	if a := answer(t, c, first); !strings.Contains(a, "in 40 seconds") {
		t.Fatalf("too early: %s", a)
	}
	clk.advance(41 * time.Second)
	// A retry from another address of the same /24 is the same client.
	if a := answer(t, c, tx("192.0.2.77", "S@remote.example", "alice@example.test")); a != "accept" {
		t.Fatalf("retry after the delay: %s", a)
	}
	if a := answer(t, c, first); a != "accept" {
		t.Fatalf("a passed triplet: %s", a)
	}
	// A new recipient is a new triplet; any new one delays the message.
	if a := answer(t, c, tx("192.0.2.10", "s@remote.example", "alice@example.test", "bob@example.test")); !strings.HasPrefix(a, "451") {
		t.Fatalf("new recipient: %s", a)
	}
	// A retry long after (past RetryMax) starts over.
	late := tx("198.51.100.1", "x@other.example", "alice@example.test")
	answer(t, c, late)
	clk.advance(DefaultRetryMax + time.Minute)
	if a := answer(t, c, late); !strings.HasPrefix(a, "451") {
		t.Fatalf("a retry after RetryMax was accepted: %s", a)
	}
}

func TestGreylistSkips(t *testing.T) {
	clk := &clock{time.Now()}
	c := &Check{Now: clk.now, Skip: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	if a := answer(t, c, tx("10.1.2.3", "s@x.example", "a@example.test")); a != "accept" {
		t.Fatalf("trusted network: %s", a)
	}
	dmarc := tx("192.0.2.1", "s@x.example", "a@example.test")
	dmarc.Results = append(dmarc.Results, &authres.DMARCResult{Value: authres.ResultPass, From: "x.example"})
	if a := answer(t, c, dmarc); a != "accept" {
		t.Fatalf("dmarc=pass: %s", a)
	}
	wl := tx("192.0.2.2", "s@x.example", "a@example.test")
	wl.Results = append(wl.Results, &authres.GenericResult{Method: "dnswl", Value: authres.ResultPass})
	if a := answer(t, c, wl); a != "accept" {
		t.Fatalf("dnswl=pass: %s", a)
	}
	failed := tx("192.0.2.3", "s@x.example", "a@example.test")
	failed.Results = append(failed.Results, &authres.DMARCResult{Value: authres.ResultFail})
	if a := answer(t, c, failed); !strings.HasPrefix(a, "451") {
		t.Fatalf("dmarc=fail was not greylisted: %s", a)
	}
}

// After AutoAllow passed triplets, a client's new triplets pass at once.
func TestGreylistAutoAllow(t *testing.T) {
	clk := &clock{time.Now()}
	c := &Check{Now: clk.now, AutoAllow: 2, Delay: time.Minute}
	for i, rcpt := range []string{"a@example.test", "b@example.test"} {
		x := tx("192.0.2.5", "s@x.example", rcpt)
		answer(t, c, x)
		clk.advance(2 * time.Minute)
		if a := answer(t, c, x); a != "accept" {
			t.Fatalf("retry %d: %s", i, a)
		}
	}
	if a := answer(t, c, tx("192.0.2.6", "new@x.example", "c@example.test")); a != "accept" {
		t.Fatalf("an auto-allowed client was greylisted: %s", a)
	}
}
