package spf

import (
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// An evaluation is one check_host() run, and the DNS that blitiri's
// library sees during it. The library evaluates the mechanisms, counts
// DNS lookups and void lookups (RFC 7208 §4.6.4) and follows include and
// redirect; this side parses and checks every record it fetches against
// the whole grammar first (§4.6), expands the macros (§7), and hands the
// library a rewritten record that its own parser handles:
//   - every target name is replaced by a stand-in, "tN.<nonce>.invalid",
//     which this resolver maps back when the library looks it up: target
//     names may hold any visible character, "/" and ":" included (§7.1),
//     and expanded ones spaces, which the library's parser cannot take;
//   - ip4 and ip6 are decided here, a match becoming an ip4 or ip6 term
//     for <ip> itself, so that an IPv4 <ip> never matches ip6 (§5.6);
//   - exp= is dropped and evaluated here once the result is fail (§6.2).
//
// An evaluation is used by one goroutine: the library asks sequentially.
type evaluation struct {
	dns     Resolver
	env     macroEnv          // everything but domain, which is per record
	nonce   string            // makes stand-ins that no DNS data can name
	targets map[string]target // stand-in → target
	chain   link

	names     []string // the validated names of <ip>, for %{p}
	namesDone bool
}

// A target is a name the library looks up under a stand-in.
type target struct {
	name     string
	ipv4Only bool // exists: an A lookup whatever <ip> is (RFC 7208 §5.7)
}

// A link is the last record of the redirect chain from <domain> followed so
// far: the record whose result is check_host()'s, and whose exp= explains
// a fail (RFC 7208 §6.2: not an included record's, nor the exp= of a
// record that redirected).
type link struct {
	standIn string  // the name whose lookup extends the chain
	domain  string  // the domain whose record rec is
	rec     *record // nil until the library has fetched it
}

func newEvaluation(dns Resolver, ip netip.Addr, sender, helo string) *evaluation {
	return &evaluation{
		dns:     dns,
		env:     macroEnv{sender: sender, helo: helo, ip: ip, now: time.Now()},
		nonce:   strings.ToLower(rand.Text()[:12]),
		targets: map[string]target{},
	}
}

// start returns the name under which the library is to check domain.
func (e *evaluation) start(domain string) string {
	e.chain = link{standIn: e.standIn(domain, false)}
	return e.chain.standIn
}

func (e *evaluation) standIn(name string, ipv4Only bool) string {
	s := "t" + strconv.Itoa(len(e.targets)) + "." + e.nonce + ".invalid"
	e.targets[s] = target{name: name, ipv4Only: ipv4Only}
	return s
}

// target maps a name the library asks about back to the one meant; names
// that are not stand-ins (MX hosts, PTR names) are their own.
func (e *evaluation) target(name string) target {
	if t, ok := e.targets[name]; ok {
		return t
	}
	return target{name: name}
}

// LookupTXT fetches the SPF record of a domain for the library (RFC 7208
// §4.4, §4.5), parsed and rewritten. Several records, or one with a syntax
// error (§4.6), come back as an error that is neither "not found" nor
// temporary, which the library makes a permerror.
func (e *evaluation) LookupTXT(ctx context.Context, name string) ([]string, error) {
	domain := e.target(name).name
	txts, err := e.lookupTXT(ctx, domain)
	if err != nil {
		return nil, err
	}
	var records []string
	for _, txt := range txts {
		if isSPFRecord(txt) {
			records = append(records, txt)
		}
	}
	if len(records) == 0 {
		return nil, nil // the library's none
	}
	if len(records) > 1 {
		return nil, &net.DNSError{Err: "more than one SPF record (RFC 7208 §4.5)", Name: domain}
	}
	rec, err := parseRecord(records[0])
	if err != nil {
		return nil, &net.DNSError{Err: "invalid SPF record: " + err.Error(), Name: domain}
	}
	text, redirect, err := e.rewrite(ctx, rec, domain)
	if err != nil {
		return nil, &net.DNSError{Err: "invalid SPF record: " + err.Error(), Name: domain}
	}
	if name == e.chain.standIn {
		e.chain = link{standIn: redirect, domain: domain, rec: rec}
	}
	return []string{text}, nil
}

func (e *evaluation) lookupTXT(ctx context.Context, name string) ([]string, error) {
	if !queryable(name) {
		return nil, notFound(name)
	}
	txts, err := e.dns.LookupTXT(ctx, name)
	return txts, dnsError(name, err)
}

// LookupIPAddr resolves the addresses a mechanism compares <ip> with: A
// records for an IPv4 <ip>, AAAA for an IPv6 one (RFC 7208 §5), and A
// records always for exists (§5.7). Lookups of the other family are left
// out, so that a name with only those is a void lookup, as the query of
// the right type would be.
func (e *evaluation) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	t := e.target(host)
	if !queryable(t.name) {
		return nil, notFound(t.name)
	}
	addrs, err := e.dns.LookupIPAddr(ctx, t.name)
	if err != nil {
		return nil, dnsError(t.name, err)
	}
	want4 := t.ipv4Only || e.env.ip.Is4()
	var kept []net.IPAddr
	for _, a := range addrs {
		if (a.IP.To4() != nil) == want4 {
			kept = append(kept, a)
		}
	}
	if len(kept) == 0 {
		return nil, notFound(t.name)
	}
	return kept, nil
}

// LookupMX resolves the mx mechanism's target (RFC 7208 §5.4). Records
// given with an error (net.Resolver drops the invalid ones that way) are
// kept: the library uses them.
func (e *evaluation) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	name = e.target(name).name
	if !queryable(name) {
		return nil, notFound(name)
	}
	mxs, err := e.dns.LookupMX(ctx, name)
	return mxs, dnsError(name, err)
}

// LookupAddr resolves the PTR names of <ip> for the ptr mechanism (RFC
// 7208 §5.5).
func (e *evaluation) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	names, err := e.dns.LookupAddr(ctx, addr)
	return names, dnsError(addr, err)
}
