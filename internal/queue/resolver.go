package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Resolver answers the DNS questions outbound delivery asks. Errors that
// mean "the name has no such records" wrap ErrNoRecords (or ErrNXDomain);
// anything else is temporary.
type Resolver interface {
	// LookupMX also reports whether the answer was authenticated (AD):
	// DANE applies only to MX hosts from a signed answer (RFC 7672 §2.2.1).
	LookupMX(ctx context.Context, domain string) ([]*net.MX, bool, error)
	LookupIP(ctx context.Context, host string) ([]netip.Addr, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
	// LookupTLSA returns the TLSA records of name and whether the answer
	// was authenticated (the AD bit from a validating resolver, RFC 7672 §2.1).
	LookupTLSA(ctx context.Context, name string) ([]*dns.TLSA, bool, error)
}

// DNS answers that are not temporary failures.
var (
	ErrNoRecords = errors.New("dns: no records")
	ErrNXDomain  = fmt.Errorf("%w: no such domain", ErrNoRecords)
)

// DNSResolver asks one DNS server with github.com/miekg/dns, setting the
// AD bit in queries (RFC 6840 §5.7) so a validating resolver reports
// whether an answer is authenticated.
type DNSResolver struct {
	Server  string // host:port
	Timeout time.Duration
}

// NewResolver returns a resolver asking addr, or the first nameserver of
// /etc/resolv.conf when addr is "" (127.0.0.1:53 without one, as the C
// library does).
func NewResolver(addr string) *DNSResolver {
	if addr == "" {
		addr = "127.0.0.1:53"
		if cc, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cc.Servers) > 0 {
			addr = net.JoinHostPort(cc.Servers[0], cc.Port)
		}
	}
	return &DNSResolver{Server: addr, Timeout: 10 * time.Second}
}

func (r *DNSResolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true
	c := &dns.Client{Timeout: r.Timeout}
	in, _, err := c.ExchangeContext(ctx, m, r.Server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, r.Server)
	}
	if err != nil {
		return nil, fmt.Errorf("dns %s %s: %w", dns.TypeToString[qtype], name, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
		return in, nil
	case dns.RcodeNameError:
		return in, fmt.Errorf("%s: %w", name, ErrNXDomain)
	default:
		return nil, fmt.Errorf("dns %s %s: %s", dns.TypeToString[qtype], name, dns.RcodeToString[in.Rcode])
	}
}

// LookupMX implements Resolver.
func (r *DNSResolver) LookupMX(ctx context.Context, domain string) ([]*net.MX, bool, error) {
	in, err := r.query(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, false, err
	}
	var out []*net.MX
	for _, rr := range in.Answer {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
		}
	}
	if len(out) == 0 {
		return nil, in.AuthenticatedData, fmt.Errorf("MX %s: %w", domain, ErrNoRecords)
	}
	return out, in.AuthenticatedData, nil
}

// LookupIP implements Resolver: AAAA then A records.
func (r *DNSResolver) LookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	var firstErr error
	for _, t := range []uint16{dns.TypeAAAA, dns.TypeA} {
		in, err := r.query(ctx, host, t)
		if err != nil {
			if firstErr == nil || errors.Is(firstErr, ErrNoRecords) {
				firstErr = err
			}
			continue
		}
		for _, rr := range in.Answer {
			switch v := rr.(type) {
			case *dns.A:
				a, _ := netip.AddrFromSlice(v.A.To4())
				out = append(out, a)
			case *dns.AAAA:
				a, _ := netip.AddrFromSlice(v.AAAA)
				out = append(out, a)
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("address of %s: %w", host, ErrNoRecords)
	}
	return nil, firstErr
}

// LookupTXT implements Resolver.
func (r *DNSResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	in, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			var s string
			for _, p := range t.Txt {
				s += p
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("TXT %s: %w", name, ErrNoRecords)
	}
	return out, nil
}

// LookupTLSA implements Resolver.
func (r *DNSResolver) LookupTLSA(ctx context.Context, name string) ([]*dns.TLSA, bool, error) {
	in, err := r.query(ctx, name, dns.TypeTLSA)
	if err != nil {
		return nil, false, err
	}
	var out []*dns.TLSA
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TLSA); ok {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, in.AuthenticatedData, fmt.Errorf("TLSA %s: %w", name, ErrNoRecords)
	}
	return out, in.AuthenticatedData, nil
}
