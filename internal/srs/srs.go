// Package srs is the Sender Rewriting Scheme (Shevek's "SRS" paper, as
// libsrs2 and postsrsd implement it): when Facteur forwards mail from a
// remote sender to a remote address (an alias), the envelope sender is
// rewritten to an address of ours, so the next hop's SPF check (RFC 7208
// §1.2, forwarding breaks it) sees our domain, and a bounce sent to it can
// be turned back into the original sender, and only by us: the address
// carries a keyed hash and a timestamp.
//
//	SRS0=HHHH=TT=orig.domain=orig-local@our.domain
//	SRS1=HHHH=first.forwarder==HHHH=TT=orig.domain=orig-local@our.domain
//
// HHHH is the first 4 characters of base64(HMAC-SHA1(secret, …)) over the
// rest (lower-cased), TT the day number modulo 1024 in base32. An address
// is valid for MaxAge.
package srs

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxAge is how long a rewritten address is honoured (libsrs2's default
// is 21 days; bounces come within days).
const MaxAge = 21 * 24 * time.Hour

const (
	hashLen   = 4
	base32    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	dayPeriod = 1024 // the timestamp's days wrap around
)

// Errors from Reverse.
var (
	ErrNotSRS  = errors.New("srs: not an SRS address")
	ErrBadHash = errors.New("srs: hash does not match")
	ErrExpired = errors.New("srs: address expired")
)

// Rewriter rewrites with one secret; the addresses it makes are in the
// domain each call names (one of ours, which must accept their bounces).
type Rewriter struct {
	Secret []byte
}

// IsSRS reports whether the local part of addr looks like SRS.
func IsSRS(addr string) bool {
	l := strings.ToUpper(addr)
	return strings.HasPrefix(l, "SRS0=") || strings.HasPrefix(l, "SRS1=") ||
		strings.HasPrefix(l, "SRS0+") || strings.HasPrefix(l, "SRS0-") ||
		strings.HasPrefix(l, "SRS1+") || strings.HasPrefix(l, "SRS1-")
}

// Forward rewrites sender (local@domain) into an address of ours, in
// ourDomain. An SRS0 address of another forwarder becomes SRS1 (so the
// chain does not grow), one of ours is kept.
func (r *Rewriter) Forward(sender, ourDomain string, now time.Time) (string, error) {
	at := strings.LastIndexByte(sender, '@')
	if at <= 0 || at == len(sender)-1 {
		return "", fmt.Errorf("srs: %q is not local@domain", sender)
	}
	local, domain := sender[:at], sender[at+1:]
	if strings.EqualFold(domain, ourDomain) && IsSRS(local) {
		return sender, nil // ours already
	}
	if IsSRS(local) && strings.EqualFold(local[:4], "SRS0") {
		// SRS1=HHHH=forwarder==<SRS0 part after "SRS0">
		rest := local[5:] // after "SRS0=" (or + or -)
		opaque := domain + "==" + rest
		return "SRS1=" + r.hash(opaque) + "=" + opaque + "@" + ourDomain, nil
	}
	if IsSRS(local) { // SRS1 of another forwarder: keep its first forwarder
		parts := strings.SplitN(local[5:], "=", 3) // HHHH, first forwarder, "=rest"
		if len(parts) == 3 {
			opaque := parts[1] + "=" + parts[2]
			return "SRS1=" + r.hash(opaque) + "=" + opaque + "@" + ourDomain, nil
		}
	}
	ts := timestamp(now)
	opaque := ts + "=" + domain + "=" + local
	return "SRS0=" + r.hash(opaque) + "=" + opaque + "@" + ourDomain, nil
}

// Reverse returns the address an SRS address of ours stands for: the
// original sender (SRS0), or the first forwarder's SRS0 address (SRS1).
func (r *Rewriter) Reverse(addr string, now time.Time) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || !IsSRS(addr[:at]) {
		return "", ErrNotSRS
	}
	local := addr[:at]
	kind, rest := strings.ToUpper(local[:4]), local[5:]
	h, opaque, ok := strings.Cut(rest, "=")
	if !ok || !r.validHash(h, opaque) {
		return "", ErrBadHash
	}
	if kind == "SRS1" {
		fwd, srs0, ok := strings.Cut(opaque, "==")
		if !ok || fwd == "" {
			return "", ErrNotSRS
		}
		return "SRS0=" + srs0 + "@" + fwd, nil
	}
	parts := strings.SplitN(opaque, "=", 3) // TT, domain, local
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return "", ErrNotSRS
	}
	if !fresh(parts[0], now) {
		return "", ErrExpired
	}
	return parts[2] + "@" + parts[1], nil
}

func (r *Rewriter) hash(opaque string) string {
	m := hmac.New(sha1.New, r.Secret)
	m.Write([]byte(strings.ToLower(opaque)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))[:hashLen]
}

// validHash compares case-insensitively: some MTAs lower-case local parts.
func (r *Rewriter) validHash(h, opaque string) bool {
	return len(h) == hashLen && hmac.Equal([]byte(strings.ToLower(h)), []byte(strings.ToLower(r.hash(opaque))))
}

func day(t time.Time) int { return int(t.Unix()/86400) % dayPeriod }

func timestamp(t time.Time) string {
	d := day(t)
	return string([]byte{base32[(d>>5)&31], base32[d&31]})
}

// fresh reports whether the timestamp ts is within MaxAge of now.
func fresh(ts string, now time.Time) bool {
	if len(ts) != 2 {
		return false
	}
	hi, lo := strings.IndexByte(base32, upper(ts[0])), strings.IndexByte(base32, upper(ts[1]))
	if hi < 0 || lo < 0 {
		return false
	}
	age := (day(now) - (hi<<5 | lo) + dayPeriod) % dayPeriod
	return time.Duration(age)*24*time.Hour <= MaxAge
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
