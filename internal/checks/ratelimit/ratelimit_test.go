package ratelimit

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"facteur.dev/facteur/internal/delivery"
)

func TestLimits(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	c := &Check{MessagesPerIP: 3, RecipientsPerIP: 4, MessagesPerUser: 1, Now: func() time.Time { return now },
		Skip: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	conn := &delivery.Conn{IP: netip.MustParseAddr("192.0.2.1")}
	mailOK := func(conn *delivery.Conn) bool {
		v, _ := c.Mail(context.Background(), delivery.NewTransaction(conn, "s@x.example", nil))
		if v.Reply != nil && (v.Reply.Code != 450 || v.Reply.Enhanced != [3]int{4, 7, 1}) {
			t.Fatalf("reply %v", v.Reply)
		}
		return v.Reply == nil
	}
	for i := range 3 {
		if !mailOK(conn) {
			t.Fatalf("message %d refused", i+1)
		}
	}
	if mailOK(conn) {
		t.Fatal("4th message in an hour accepted")
	}
	if !mailOK(&delivery.Conn{IP: netip.MustParseAddr("192.0.2.2")}) {
		t.Fatal("another address was limited")
	}
	if !mailOK(&delivery.Conn{IP: netip.MustParseAddr("10.0.0.1")}) || !mailOK(&delivery.Conn{IP: netip.MustParseAddr("10.0.0.1")}) ||
		!mailOK(&delivery.Conn{IP: netip.MustParseAddr("10.0.0.1")}) || !mailOK(&delivery.Conn{IP: netip.MustParseAddr("10.0.0.1")}) {
		t.Fatal("a trusted network was limited")
	}
	user := &delivery.Conn{IP: netip.MustParseAddr("192.0.2.1"), AuthUser: "alice@example.test"}
	if !mailOK(user) || mailOK(user) {
		t.Fatal("the per-user limit")
	}
	// Recipients, at RCPT, with 451.
	tx := delivery.NewTransaction(conn, "s@x.example", nil)
	for i := range 4 {
		if v, _ := c.Rcpt(context.Background(), tx, &delivery.Recipient{}); v.Reply != nil {
			t.Fatalf("recipient %d refused", i+1)
		}
	}
	if v, _ := c.Rcpt(context.Background(), tx, &delivery.Recipient{}); v.Reply == nil || v.Reply.Code != 451 {
		t.Fatalf("5th recipient: %v", v.Reply)
	}
	// Half an hour into the next window, half of the previous one counts:
	// 3 × 0.5 = 1.5, so one more message fits, not two.
	now = now.Add(90 * time.Minute)
	if !mailOK(conn) || mailOK(conn) {
		t.Fatal("sliding window")
	}
	now = now.Add(3 * time.Hour)
	if !mailOK(conn) || !mailOK(conn) || !mailOK(conn) {
		t.Fatal("counts kept after the hour had passed")
	}
}
