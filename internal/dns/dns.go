// Package dns is the resolver the inbound checks ask (SPF, DKIM, DMARC,
// DNSBL, iprev): the method set of net.Resolver that those checks and
// their libraries expect, over github.com/miekg/dns to one configured
// server, with a cache that keeps answers for their TTL (bounded), so a
// burst of mail from one sender asks each question once.
//
// Errors follow net.Resolver's: a *net.DNSError with IsNotFound for a
// name or record type that does not exist (NXDOMAIN, or NOERROR with no
// answer), IsTimeout for no answer in time, IsTemporary for anything
// else that may pass (SERVFAIL, REFUSED, a network error). Checks map
// IsNotFound to "none" and everything else to "temperror" (RFC 8601
// §2.7, RFC 7208 §2.6.6).
package dns

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Resolver is what the checks ask. *Client implements it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Client asks one DNS server, through a cache.
type Client struct {
	server  string // host:port
	timeout time.Duration
	cache   *cache
}

var _ Resolver = (*Client)(nil)

// New returns a client of server ("host:port"), or of the first
// nameserver in /etc/resolv.conf when server is "" (127.0.0.1:53 without
// one, as the C library does).
func New(server string) *Client {
	if server == "" {
		server = "127.0.0.1:53"
		if cc, err := mdns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cc.Servers) > 0 {
			server = net.JoinHostPort(cc.Servers[0], cc.Port)
		}
	}
	return &Client{server: server, timeout: 5 * time.Second, cache: newCache(maxCacheEntries)}
}

// Server is the address asked.
func (c *Client) Server() string { return c.server }

// SetTimeout sets how long one query may take (default 5 s).
func (c *Client) SetTimeout(d time.Duration) { c.timeout = d }

// answer is one cached reply: its records, or the error for the name.
type answer struct {
	rrs []mdns.RR
	err *net.DNSError
}

// query asks for name's records of qtype, from the cache when it can.
func (c *Client) query(ctx context.Context, name string, qtype uint16) ([]mdns.RR, error) {
	name = mdns.Fqdn(strings.ToLower(name))
	key := cacheKey{name, qtype}
	if a, ok := c.cache.get(key, time.Now()); ok {
		return a.rrs, errOrNil(a.err)
	}
	a, ttl := c.exchange(ctx, name, qtype)
	if ttl > 0 {
		c.cache.put(key, a, time.Now().Add(ttl))
	}
	return a.rrs, errOrNil(a.err)
}

func errOrNil(e *net.DNSError) error {
	if e == nil {
		return nil
	}
	return e
}

// exchange asks the server (over TCP when the UDP answer is truncated)
// and returns the answer and how long it may be kept (0: not at all).
func (c *Client) exchange(ctx context.Context, name string, qtype uint16) (answer, time.Duration) {
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	cl := &mdns.Client{Timeout: c.timeout}
	in, _, err := cl.ExchangeContext(ctx, m, c.server)
	if err == nil && in.Truncated {
		cl.Net = "tcp"
		in, _, err = cl.ExchangeContext(ctx, m, c.server)
	}
	if err != nil {
		return answer{err: c.dnsError(name, err.Error(), isTimeout(err), false)}, 0
	}
	switch in.Rcode {
	case mdns.RcodeSuccess:
	case mdns.RcodeNameError:
		return answer{err: c.dnsError(name, "no such host", false, true)}, negativeTTL(in)
	default:
		return answer{err: c.dnsError(name, "server answered "+mdns.RcodeToString[in.Rcode], false, false)}, 0
	}
	var rrs []mdns.RR
	ttl := maxTTL
	for _, rr := range in.Answer {
		if rr.Header().Rrtype == qtype {
			rrs = append(rrs, rr)
			ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
		}
	}
	if len(rrs) == 0 {
		return answer{err: c.dnsError(name, "no such record", false, true)}, negativeTTL(in)
	}
	return answer{rrs: rrs}, ttl
}

func (c *Client) dnsError(name, msg string, timeout, notFound bool) *net.DNSError {
	return &net.DNSError{Err: msg, Name: strings.TrimSuffix(name, "."), Server: c.server,
		IsTimeout: timeout, IsTemporary: !notFound, IsNotFound: notFound}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// maxTTL and maxNegativeTTL bound how long answers are kept (RFC 2308
// §5 suggests at most 3 hours for negative answers; an hour is enough).
const (
	maxTTL         = time.Hour
	maxNegativeTTL = 5 * time.Minute
)

// negativeTTL is the SOA minimum of a negative answer (RFC 2308 §5),
// bounded; a minute without an SOA.
func negativeTTL(in *mdns.Msg) time.Duration {
	for _, rr := range in.Ns {
		if soa, ok := rr.(*mdns.SOA); ok {
			return min(maxNegativeTTL, time.Duration(min(soa.Minttl, soa.Hdr.Ttl))*time.Second)
		}
	}
	return time.Minute
}

// LookupTXT returns each TXT record's strings joined (RFC 7208 §3.3).
func (c *Client) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := c.query(ctx, name, mdns.TypeTXT)
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*mdns.TXT).Txt, ""))
	}
	return out, err
}

// LookupMX returns the MX records in the order given.
func (c *Client) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := c.query(ctx, name, mdns.TypeMX)
	var out []*net.MX
	for _, rr := range rrs {
		mx := rr.(*mdns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	return out, err
}

// LookupIPAddr returns the A and AAAA records of host; it fails only
// when both lookups fail, with the A lookup's error unless only that one
// says the name exists.
func (c *Client) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	var out []net.IPAddr
	var errs [2]error
	for i, t := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
		rrs, err := c.query(ctx, host, t)
		errs[i] = err
		for _, rr := range rrs {
			switch v := rr.(type) {
			case *mdns.A:
				out = append(out, net.IPAddr{IP: v.A})
			case *mdns.AAAA:
				out = append(out, net.IPAddr{IP: v.AAAA})
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if notFound(errs[0]) && errs[1] != nil && !notFound(errs[1]) {
		return nil, errs[1]
	}
	return nil, errs[0]
}

// LookupAddr returns the PTR names of an address.
func (c *Client) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	name, _ := mdns.ReverseAddr(ip.String())
	rrs, err := c.query(ctx, name, mdns.TypePTR)
	var out []string
	for _, rr := range rrs {
		out = append(out, rr.(*mdns.PTR).Ptr)
	}
	return out, err
}

// notFound reports whether err says the name or records do not exist.
func notFound(err error) bool {
	de, ok := err.(*net.DNSError)
	return ok && de.IsNotFound
}

// NotFound reports whether err says the name or records do not exist
// (as opposed to a failure that may pass).
func NotFound(err error) bool { return notFound(err) }
