package auth

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestRecentLogins(t *testing.T) {
	r := NewRecentLogins(10*time.Minute, 0)
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	ip := netip.MustParseAddr("192.0.2.7")
	if _, ok := r.Lookup(ip, t0, 10*time.Minute); ok {
		t.Fatal("found before any login")
	}
	r.Record(ip, "alice@example.test", t0)
	if a, ok := r.Lookup(ip, t0.Add(9*time.Minute), 10*time.Minute); !ok || a != "alice@example.test" {
		t.Fatalf("after 9m: %q %v", a, ok)
	}
	// IPv4-mapped IPv6 is the same client.
	if _, ok := r.Lookup(netip.MustParseAddr("::ffff:192.0.2.7"), t0, 10*time.Minute); !ok {
		t.Fatal("mapped address not found")
	}
	if _, ok := r.Lookup(netip.MustParseAddr("192.0.2.8"), t0, 10*time.Minute); ok {
		t.Fatal("another address found")
	}
	if _, ok := r.Lookup(ip, t0.Add(5*time.Minute), 5*time.Minute); ok {
		t.Fatal("found outside the caller's window")
	}
	if _, ok := r.Lookup(ip, t0.Add(10*time.Minute), time.Hour); ok {
		t.Fatal("found after keep")
	}
	if r.Len() != 0 {
		t.Fatalf("expired entry kept: %d", r.Len())
	}
	// A later login replaces the account.
	r.Record(ip, "alice@example.test", t0)
	r.Record(ip, "bob@example.test", t0.Add(time.Minute))
	if a, _ := r.Lookup(ip, t0.Add(10*time.Minute), 10*time.Minute); a != "bob@example.test" {
		t.Fatalf("after a second login: %q", a)
	}
	r.Record(netip.Addr{}, "carol@example.test", t0)
	if r.Len() != 1 {
		t.Fatalf("an invalid address was recorded: %d entries", r.Len())
	}
}

func TestRecentLoginsBounded(t *testing.T) {
	r := NewRecentLogins(time.Hour, 3)
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		r.Record(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second))
	}
	if r.Len() != 3 {
		t.Fatalf("%d entries, want 3", r.Len())
	}
	if _, ok := r.Lookup(netip.AddrFrom4([4]byte{192, 0, 2, 1}), t0, time.Hour); ok {
		t.Fatal("the oldest entry was kept")
	}
	if a, ok := r.Lookup(netip.AddrFrom4([4]byte{192, 0, 2, 4}), t0.Add(time.Minute), time.Hour); !ok || a != "4" {
		t.Fatalf("the newest entry: %q %v", a, ok)
	}
	// Expired entries make room before live ones are dropped.
	r.Record(netip.AddrFrom4([4]byte{198, 51, 100, 1}), "late", t0.Add(2*time.Hour))
	if r.Len() != 1 {
		t.Fatalf("%d entries after expiry, want 1", r.Len())
	}
}
