package spf

import (
	"context"
	"errors"
	"net"
	"strings"

	libspf "blitiri.com.ar/go/spf"
)

// Resolver is the DNS a Checker asks. It has the method set of
// blitiri.com.ar/go/spf's DNSResolver, which is that of *net.Resolver.
//
// Errors should be *net.DNSError, as net.Resolver's are: IsNotFound for a
// name that does not exist or has no records of the type asked (both are
// "void lookups", RFC 7208 §4.6.4), IsTimeout or IsTemporary for a failure
// worth retrying. Any other error, wrapped or not, counts as a DNS failure:
// a temperror (RFC 7208 §4.4, §5).
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

var (
	_ Resolver           = (*net.Resolver)(nil)
	_ libspf.DNSResolver = Resolver(nil)
	_ libspf.DNSResolver = (*evaluation)(nil)
)

// dnsError turns a resolver's error into what blitiri's library tells
// apart, which it does by asserting the type *net.DNSError, never through
// errors.As: not found (a void lookup), temporary (temperror), or neither,
// which the library makes a permerror. RFC 7208 §4.4 and §5 make every
// DNS failure other than "Name Error" (RCODE 3) a temperror, so such an
// error comes back temporary; so does a context error, which some
// resolvers return as it is, when the time limit (§4.6.4) runs out.
func dnsError(name string, err error) error {
	if err == nil {
		return nil
	}
	var de *net.DNSError
	if !errors.As(err, &de) {
		return &net.DNSError{
			Err:         err.Error(),
			Name:        name,
			IsTimeout:   errors.Is(err, context.DeadlineExceeded),
			IsTemporary: true,
		}
	}
	if de.IsNotFound || de.Temporary() {
		return de
	}
	temp := *de
	temp.IsTemporary = true
	return &temp
}

// notFound is the answer for a name no query can be made for.
func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// queryable reports whether a DNS query can be made for name: labels of 1
// to 63 octets, 253 in all without the final dot (RFC 1035 §2.3.4). RFC
// 7208 §4.8 leaves a target name that is not one undefined; like a name
// that does not exist, it does not match.
func queryable(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > maxDomainLength {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
	}
	return true
}
