package srs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	r := &Rewriter{Secret: []byte("k1")}
	a, err := r.Forward("alice@orig.example", "fwd.example", now)
	if err != nil || !strings.HasPrefix(a, "SRS0=") || !strings.HasSuffix(a, "=orig.example=alice@fwd.example") {
		t.Fatalf("forward: %q %v", a, err)
	}
	for _, form := range []string{a, strings.ToLower(a)} {
		if back, err := r.Reverse(form, now.Add(10*24*time.Hour)); err != nil || !strings.EqualFold(back, "alice@orig.example") {
			t.Fatalf("reverse %q: %q %v", form, back, err)
		}
	}
	if _, err := r.Reverse(a, now.Add(MaxAge+48*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	forged := strings.Replace(a, "alice", "mallory", 1)
	if _, err := r.Reverse(forged, now); !errors.Is(err, ErrBadHash) {
		t.Fatalf("forged: %v", err)
	}
	other := &Rewriter{Secret: []byte("k2")}
	if _, err := other.Reverse(a, now); !errors.Is(err, ErrBadHash) {
		t.Fatalf("another secret: %v", err)
	}
	if _, err := r.Reverse("bob@fwd.example", now); !errors.Is(err, ErrNotSRS) {
		t.Fatalf("plain address: %v", err)
	}
	if same, _ := r.Forward(a, "fwd.example", now); same != a {
		t.Fatalf("our own SRS address rewritten again: %q", same)
	}
}

// A second forwarder turns SRS0 into SRS1; its reverse gives the first
// forwarder's SRS0 address, which the first reverses to the sender.
func TestSRS1(t *testing.T) {
	now := time.Now()
	first := &Rewriter{Secret: []byte("a")}
	second := &Rewriter{Secret: []byte("b")}
	third := &Rewriter{Secret: []byte("c")}
	s0, _ := first.Forward("alice@orig.example", "one.example", now)
	s1, err := second.Forward(s0, "two.example", now)
	if err != nil || !strings.HasPrefix(s1, "SRS1=") || !strings.HasSuffix(s1, "@two.example") {
		t.Fatalf("SRS1: %q %v", s1, err)
	}
	s1b, err := third.Forward(s1, "three.example", now)
	if err != nil || !strings.HasPrefix(s1b, "SRS1=") || !strings.Contains(s1b, "=one.example==") {
		t.Fatalf("SRS1 of SRS1 keeps the first forwarder: %q %v", s1b, err)
	}
	back, err := third.Reverse(s1b, now)
	if err != nil || !strings.HasSuffix(back, "@one.example") {
		t.Fatalf("reverse SRS1: %q %v", back, err)
	}
	orig, err := first.Reverse(back, now)
	if err != nil || orig != "alice@orig.example" {
		t.Fatalf("reverse SRS0: %q %v", orig, err)
	}
}

func FuzzReverse(f *testing.F) {
	r := &Rewriter{Secret: []byte("k")}
	a, _ := r.Forward("alice@orig.example", "fwd.example", time.Now())
	f.Add(a)
	f.Add("SRS1=abcd=x==y=z@fwd.example")
	f.Add("SRS0=@")
	f.Fuzz(func(t *testing.T, addr string) {
		back, err := r.Reverse(addr, time.Now())
		if err == nil && back == "" {
			t.Fatal("empty reverse without error")
		}
	})
}
