// Package spf checks a client's authority to use a domain in HELO and MAIL
// FROM with the Sender Policy Framework (RFC 7208).
//
// The mechanisms are evaluated by blitiri.com.ar/go/spf; this package puts
// in front of it what a receiving MX needs and the library leaves out: the
// full syntax check of each record before any of it is evaluated (RFC 7208
// §4.6), macro expansion with every letter, %{p} included (§7), target
// names with any visible character (§7.1), exp= explanations (§6.2), the
// initial checks of §4.3, and DNS errors reported the way the library
// tells them apart (see Resolver). How the two fit is told on evaluation.
//
// The package is checked against the OpenSPF RFC 7208 test suite (see
// TestOpenSPFSuite).
package spf

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"

	libspf "blitiri.com.ar/go/spf"
)

// The results, spelt as RFC 7208 §2.6 and RFC 8601 §2.7.2 spell them.
const (
	None      = "none"
	Neutral   = "neutral"
	Pass      = "pass"
	Fail      = "fail"
	SoftFail  = "softfail"
	TempError = "temperror"
	PermError = "permerror"
)

// The identities checked (RFC 7208 §2.3, §2.4).
const (
	IdentityMailFrom = "mailfrom"
	IdentityHELO     = "helo"
)

// DefaultTimeout is how long one check_host() may take when
// Checker.Timeout is zero. RFC 7208 §4.6.4 says such a limit SHOULD allow
// at least 20 seconds, and that running out of it is a temperror.
const DefaultTimeout = 20 * time.Second

// Result is the outcome of checking one identity.
type Result struct {
	Result      string // one of None … PermError
	Domain      string // the domain checked: the MAIL FROM domain, or the HELO name
	Identity    string // IdentityMailFrom or IdentityHELO
	Reason      string // the error or mechanism that decided, for logs and Authentication-Results comments
	Explanation string // the exp= text for a fail, when the record gives one (RFC 7208 §6.2)
}

// Checker runs SPF checks. Its zero value uses net.DefaultResolver and
// DefaultTimeout. It holds no state of its own, so one Checker may serve
// any number of goroutines.
type Checker struct {
	Resolver Resolver      // nil means net.DefaultResolver
	Timeout  time.Duration // for one check_host(); 0 means DefaultTimeout
}

// CheckHost runs check_host() (RFC 7208 §4) for one identity: is ip
// allowed to use domain? sender is the MAIL FROM address; "" means the
// HELO identity, whose <sender> is postmaster@domain (§2.3), and makes
// Identity IdentityHELO. helo is the HELO/EHLO name, for %{h}.
func (c *Checker) CheckHost(ctx context.Context, ip netip.Addr, domain, sender, helo string) Result {
	res := Result{Domain: domain, Identity: IdentityMailFrom}
	if sender == "" {
		res.Identity, sender = IdentityHELO, "postmaster@"+domain
	}
	ip = ip.Unmap() // §5: an IPv4-mapped IPv6 address is still IPv4
	switch {
	case !ip.IsValid():
		res.Result, res.Reason = PermError, "no valid client IP address"
	case !checkableDomain(domain):
		// §4.3: a malformed domain, or one that is not a multi-label
		// domain name, is "none" without a lookup.
		res.Result, res.Reason = None, "not a domain name that can be checked"
	default:
		c.run(ctx, &res, ip, withLocalPart(sender), helo)
	}
	return res
}

// run evaluates a checkable identity with the library.
func (c *Checker) run(ctx context.Context, res *Result, ip netip.Addr, sender, helo string) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	e := newEvaluation(c.resolver(), ip, sender, helo)
	// The library takes its starting domain from the sender; the macros
	// it would expand with sender and HELO are expanded already.
	r, err := libspf.CheckHostWithSender(ip.AsSlice(), "", "postmaster@"+e.start(res.Domain),
		libspf.WithResolver(e), libspf.WithContext(ctx))
	res.Result = string(r)
	res.Reason = "no mechanism matched (RFC 7208 §4.7)"
	if err != nil {
		res.Reason = err.Error()
	}
	if res.Result == Fail {
		res.Explanation = e.explain(ctx)
	}
}

// Check does what a receiving MX does (RFC 7208 §2.3, §2.4): it checks
// the HELO identity when helo is a domain name, and the MAIL FROM one,
// which for the null reverse-path (mailFrom "") is postmaster@helo, the
// same check as HELO's. mailFrom is the reverse-path without its angle
// brackets.
func (c *Checker) Check(ctx context.Context, ip netip.Addr, helo, mailFrom string) (mailfrom, heloResult Result) {
	heloResult = Result{Result: None, Domain: helo, Identity: IdentityHELO,
		Reason: "HELO is not a domain name"}
	if checkableDomain(helo) {
		heloResult = c.CheckHost(ctx, ip, helo, "", helo)
	}
	if mailFrom == "" {
		mailfrom = heloResult
		mailfrom.Identity = IdentityMailFrom
		return mailfrom, heloResult
	}
	_, domain := splitAddress(mailFrom)
	return c.CheckHost(ctx, ip, domain, mailFrom, helo), heloResult
}

func (c *Checker) resolver() Resolver {
	if c.Resolver == nil {
		return net.DefaultResolver
	}
	return c.Resolver
}

func (c *Checker) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// withLocalPart gives a sender without a local-part (or without "@") the
// local-part "postmaster" (RFC 7208 §4.3).
func withLocalPart(sender string) string {
	local, domain := splitAddress(sender)
	if local == "" {
		return "postmaster@" + domain
	}
	return sender
}

// checkableDomain reports whether check_host() may look domain up (RFC
// 7208 §4.3): a multi-label domain name with labels of 1 to 63 octets,
// not an address literal nor an address, whose ASCII is letters, digits,
// "-", "_" and ".".
func checkableDomain(domain string) bool {
	d := strings.TrimSuffix(domain, ".")
	dot := strings.LastIndexByte(d, '.')
	if !queryable(d) || dot < 0 || allDigits(d[dot+1:]) {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i] | 0x20
		if d[i] < 0x80 && !('a' <= c && c <= 'z' || '0' <= d[i] && d[i] <= '9' ||
			strings.IndexByte("-_.", d[i]) >= 0) {
			return false
		}
	}
	return true
}
