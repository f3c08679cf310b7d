// Package dnsbl looks the client's address up in DNS block and allow
// lists at connect (RFC 5782): a client on a block list is refused before
// the banner with a reply that names the list; one on an allow list is
// recorded as dnswl=pass (RFC 8904) for the checks that come later.
package dnsbl

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/mail"
)

// List is one DNS list and the answers that count as listed.
type List struct {
	Zone string
	// Codes are the answers that mean listed, each with what it means
	// ("" for no name); empty means every answer in 127.0.0.0/8 that is
	// not a list error.
	Codes map[netip.Addr]string
}

// known are the meanings of the answers of lists everyone uses; an answer
// in 127.255.255.0/24 from Spamhaus is an error, not a listing (a query
// through a public resolver, or over the free limit).
var known = map[string]map[string]string{
	"zen.spamhaus.org": {"127.0.0.2": "SBL", "127.0.0.3": "SBL CSS", "127.0.0.4": "XBL", "127.0.0.5": "XBL",
		"127.0.0.6": "XBL", "127.0.0.7": "XBL", "127.0.0.9": "SBL DROP", "127.0.0.10": "PBL", "127.0.0.11": "PBL"},
	"sbl.spamhaus.org": {"127.0.0.2": "SBL", "127.0.0.3": "SBL CSS", "127.0.0.9": "SBL DROP"},
	"xbl.spamhaus.org": {"127.0.0.4": "XBL", "127.0.0.5": "XBL", "127.0.0.6": "XBL", "127.0.0.7": "XBL"},
	"pbl.spamhaus.org": {"127.0.0.10": "PBL", "127.0.0.11": "PBL"},
}

// ParseList reads a list as configured: "zone", or
// "zone=127.0.0.2,127.0.0.[4..7]" to count only those answers (Postfix's
// syntax).
func ParseList(s string) (List, error) {
	zone, codes, hasCodes := strings.Cut(strings.TrimSpace(s), "=")
	zone = strings.ToLower(strings.TrimSuffix(zone, "."))
	if zone == "" || strings.ContainsAny(zone, " /") {
		return List{}, fmt.Errorf("dnsbl %q: not a zone", s)
	}
	l := List{Zone: zone, Codes: map[netip.Addr]string{}}
	if !hasCodes {
		for a, name := range known[zone] {
			l.Codes[netip.MustParseAddr(a)] = name
		}
		return l, nil
	}
	for _, c := range strings.Split(codes, ",") {
		if err := addCodes(l.Codes, strings.TrimSpace(c)); err != nil {
			return List{}, fmt.Errorf("dnsbl %q: %w", s, err)
		}
	}
	return l, nil
}

// addCodes adds "a.b.c.d" or "a.b.c.[x..y]".
func addCodes(m map[netip.Addr]string, c string) error {
	if a, err := netip.ParseAddr(c); err == nil && a.Is4() {
		m[a] = ""
		return nil
	}
	prefix, rng, ok := strings.Cut(c, "[")
	lo, hi, ok2 := strings.Cut(strings.TrimSuffix(rng, "]"), "..")
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if !ok || !ok2 || !strings.HasSuffix(rng, "]") || err1 != nil || err2 != nil || l < 0 || h > 255 || l > h {
		return fmt.Errorf("bad answer %q", c)
	}
	for i := l; i <= h; i++ {
		a, err := netip.ParseAddr(prefix + strconv.Itoa(i))
		if err != nil || !a.Is4() {
			return fmt.Errorf("bad answer %q", c)
		}
		m[a] = ""
	}
	return nil
}

// Check looks the client up in Block (refusing when listed) and Allow
// (recording dnswl=pass).
type Check struct {
	Resolver dns.Resolver
	Block    []List
	Allow    []List
	Skip     []netip.Prefix // trusted networks, never looked up
}

var _ delivery.ConnectCheck = (*Check)(nil)

// Name implements delivery.Check.
func (c *Check) Name() string { return "dnsbl" }

// Connect implements delivery.ConnectCheck. A list that cannot be asked
// is an error (the pipeline's on_error policy for "dnsbl" decides).
func (c *Check) Connect(ctx context.Context, conn *delivery.Conn) (delivery.Verdict, error) {
	ip := conn.IP.Unmap()
	if !ip.IsValid() || c.skipped(ip) {
		return delivery.Verdict{}, nil
	}
	for _, l := range c.Allow {
		code, _, err := c.lookup(ctx, l, ip)
		if err != nil {
			return delivery.Verdict{}, err
		}
		if code.IsValid() {
			return delivery.Verdict{Results: []authres.Result{&authres.GenericResult{Method: "dnswl", Value: authres.ResultPass,
				Params: map[string]string{"dns.zone": l.Zone, "policy.ip": code.String()}}}}, nil
		}
	}
	for _, l := range c.Block {
		code, meaning, err := c.lookup(ctx, l, ip)
		if err != nil {
			return delivery.Verdict{}, err
		}
		if code.IsValid() {
			return delivery.Verdict{Reply: c.reply(ctx, l, ip, meaning)}, nil
		}
	}
	return delivery.Verdict{}, nil
}

func (c *Check) skipped(ip netip.Addr) bool {
	for _, p := range c.Skip {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// lookup asks l about ip: the listing answer (invalid when not listed)
// and its meaning.
func (c *Check) lookup(ctx context.Context, l List, ip netip.Addr) (netip.Addr, string, error) {
	addrs, err := c.Resolver.LookupIPAddr(ctx, Query(ip, l.Zone))
	if dns.NotFound(err) {
		return netip.Addr{}, "", nil
	}
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("%s: %w", l.Zone, err)
	}
	for _, a := range addrs {
		code, ok := netip.AddrFromSlice(a.IP.To4())
		if !ok {
			continue
		}
		if len(l.Codes) > 0 {
			if meaning, listed := l.Codes[code]; listed {
				return code, meaning, nil
			}
			continue
		}
		// RFC 5782 §2.1: answers are in 127.0.0.0/8; 127.255.255.0/24 is
		// how lists signal an error.
		if code.As4()[0] == 127 && !(code.As4()[1] == 255 && code.As4()[2] == 255) {
			return code, "", nil
		}
	}
	return netip.Addr{}, "", nil
}

// reply is the refusal: the list named, with its TXT explanation when it
// gives one (RFC 5782 §2.1).
func (c *Check) reply(ctx context.Context, l List, ip netip.Addr, meaning string) *mail.Error {
	msg := fmt.Sprintf("Service unavailable; client [%s] blocked using %s", ip, l.Zone)
	if meaning != "" {
		msg += " (" + meaning + ")"
	}
	if txt, err := c.Resolver.LookupTXT(ctx, Query(ip, l.Zone)); err == nil && len(txt) > 0 {
		msg += "; " + printable(txt[0], 200)
	}
	return mail.Errorf(554, [3]int{5, 7, 1}, "%s", msg)
}

// printable keeps the visible ASCII of s, at most n bytes.
func printable(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if s[i] >= ' ' && s[i] <= '~' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// Query is the name asked for ip in zone (RFC 5782 §2.1, §2.4): the
// address's octets, or an IPv6 address's nibbles, reversed.
func Query(ip netip.Addr, zone string) string {
	ip = ip.Unmap()
	var parts []string
	if ip.Is4() {
		b := ip.As4()
		for i := 3; i >= 0; i-- {
			parts = append(parts, strconv.Itoa(int(b[i])))
		}
	} else {
		b := ip.As16()
		for i := 15; i >= 0; i-- {
			parts = append(parts, strconv.FormatUint(uint64(b[i]&0xf), 16), strconv.FormatUint(uint64(b[i]>>4), 16))
		}
	}
	return strings.Join(parts, ".") + "." + zone
}
