// Package iprev is the reverse DNS check of RFC 8601 §3: the client's
// address must have a PTR name that resolves back to it. It runs at
// connect, records an iprev result for Authentication-Results, and keeps
// the verified name for the Received header and later checks. It never
// refuses by itself.
package iprev

import (
	"context"
	"net"
	"strings"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
)

// maxNames bounds the PTR names tried (RFC 8601 §3 leaves it to the
// verifier; RFC 7208 §5.5 uses 10 for the same lookup).
const maxNames = 10

// Check is the iprev check.
type Check struct {
	Resolver dns.Resolver
}

var _ delivery.ConnectCheck = (*Check)(nil)

// Name implements delivery.Check.
func (c *Check) Name() string { return "iprev" }

// Connect implements delivery.ConnectCheck. Trusted clients are not
// looked up.
func (c *Check) Connect(ctx context.Context, conn *delivery.Conn) (delivery.Verdict, error) {
	if !conn.IP.IsValid() || conn.Trusted {
		return delivery.Verdict{}, nil
	}
	name, res := c.Verify(ctx, conn.IP.String())
	return delivery.Verdict{Results: []authres.Result{res}, RDNS: name}, nil
}

// Verify returns the verified name of ip ("" if none) and the iprev
// result: pass, fail (no name resolves back), temperror or permerror
// (RFC 8601 §2.7.3).
func (c *Check) Verify(ctx context.Context, ip string) (string, *authres.IPRevResult) {
	res := &authres.IPRevResult{IP: ip}
	names, err := c.Resolver.LookupAddr(ctx, ip)
	if err != nil {
		res.Value = errValue(err)
		return "", res
	}
	var firstErr error
	for i, n := range names {
		if i == maxNames {
			break
		}
		addrs, err := c.Resolver.LookupIPAddr(ctx, n)
		if err != nil && firstErr == nil && !dns.NotFound(err) {
			firstErr = err
		}
		for _, a := range addrs {
			if a.IP.Equal(net.ParseIP(ip)) {
				res.Value = authres.ResultPass
				return strings.TrimSuffix(n, "."), res
			}
		}
	}
	res.Value = authres.ResultFail
	if firstErr != nil {
		res.Value = authres.ResultTempError
	}
	return "", res
}

// errValue is permerror for a name without PTR records (RFC 8601 §3:
// the address has no name) and temperror for a failure that may pass.
func errValue(err error) authres.ResultValue {
	if dns.NotFound(err) {
		return authres.ResultPermError
	}
	return authres.ResultTempError
}
