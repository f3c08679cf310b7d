package queue

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// mxHost is one next hop: a host name (for TLS and TLSA) and a port, or a
// fixed host:port from a route or the smarthost.
type mxHost struct {
	Name     string
	Port     int
	Route    bool // from outbound.routes or outbound.smarthost: no MX, MTA-STS or DANE
	Implicit bool // the domain itself, for want of MX records
	Smart    bool // the smarthost: AUTH when credentials are set
	Secure   bool // from a DNSSEC-authenticated MX answer: DANE may apply
}

// Permanent DNS outcomes, RFC 3463 and RFC 7505 §4.2.
var (
	errNullMX   = permanent(556, "5.1.10", "Recipient domain accepts no mail (null MX, RFC 7505)")
	errNoDomain = permanent(550, "5.1.2", "Recipient domain does not exist")
	errNoHost   = permanent(550, "5.1.2", "Recipient domain has no mail server")
)

// hops returns the next hops for domain: the route or smarthost when one
// is configured, else the MX hosts per RFC 5321 §5.1 — by preference,
// equal preferences shuffled, the domain itself when there is no MX.
func (r *Runner) hops(ctx context.Context, domain string) ([]mxHost, error) {
	if hp, ok := r.opts.Routes[strings.ToLower(domain)]; ok {
		return fixedHop(hp)
	}
	if r.opts.Smarthost != "" {
		h, err := fixedHop(r.opts.Smarthost)
		if err == nil {
			h[0].Smart = true
		}
		return h, err
	}
	domain = aLabel(domain)
	mxs, secure, err := r.opts.Resolver.LookupMX(ctx, domain)
	switch {
	case errors.Is(err, ErrNXDomain):
		return nil, errNoDomain
	case errors.Is(err, ErrNoRecords):
		return []mxHost{{Name: domain, Port: r.opts.Port, Implicit: true}}, nil // implicit MX, RFC 5321 §5.1
	case err != nil:
		return nil, temporary(451, "4.4.3", "MX lookup failed: "+err.Error())
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, errNullMX
	}
	rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	var out []mxHost
	for _, mx := range mxs {
		name := strings.TrimSuffix(mx.Host, ".")
		if name == "" {
			continue
		}
		out = append(out, mxHost{Name: name, Port: r.opts.Port, Secure: secure})
	}
	return out, nil
}

// aLabel returns the name DNS knows an internationalized domain by
// (RFC 5891); other names are returned as they are.
func aLabel(domain string) string {
	if a, err := idna.Lookup.ToASCII(domain); err == nil {
		return a
	}
	return domain
}

func fixedHop(hostport string) ([]mxHost, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, permanent(554, "5.3.5", "bad route "+hostport)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, permanent(554, "5.3.5", "bad route "+hostport)
	}
	return []mxHost{{Name: host, Port: p, Route: true}}, nil
}

// addrs returns the addresses of h, IPv6 first then IPv4.
func (r *Runner) addrs(ctx context.Context, h mxHost) ([]string, error) {
	if ip, err := netip.ParseAddr(h.Name); err == nil {
		return []string{net.JoinHostPort(ip.String(), strconv.Itoa(h.Port))}, nil
	}
	ips, err := r.opts.Resolver.LookupIP(ctx, h.Name)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		if a.Is4() == b.Is4() {
			return 0
		}
		if a.Is4() {
			return 1
		}
		return -1
	})
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = net.JoinHostPort(ip.String(), strconv.Itoa(h.Port))
	}
	return out, nil
}
