package spf

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// fakeDNS is an in-memory Resolver that answers as net.Resolver does:
// *net.DNSError with IsNotFound for a name that does not exist and for
// one without records of the type asked, IsTimeout for a timeout. A
// context that is done is answered with its bare error, as a careless
// resolver would, which the Checker has to cope with.
type fakeDNS struct {
	zone map[string][]fakeRR // canonical name → records, in order
}

// A fakeRR is one record. The type "TIMEOUT" stands for a query that
// times out: one for a type none of whose records come before it in the
// list (the OpenSPF suite's convention); the others end their answer there.
type fakeRR struct {
	typ  string // A, AAAA, TXT, MX, PTR, CNAME or TIMEOUT
	data string // address, TXT text, MX or PTR host, CNAME target
	pref uint16 // MX preference
}

func newFakeDNS() *fakeDNS { return &fakeDNS{zone: map[string][]fakeRR{}} }

func (d *fakeDNS) add(name, typ, data string) { d.addRR(name, fakeRR{typ: typ, data: data}) }

func (d *fakeDNS) addRR(name string, rr fakeRR) {
	name = canonical(name)
	d.zone[name] = append(d.zone[name], rr)
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// fqdn is name with a final dot, as net.Resolver gives host names.
func fqdn(name string) string { return strings.TrimSuffix(name, ".") + "." }

// query follows CNAMEs (a loop is the SERVFAIL a resolver gives) and
// returns the records of typ.
func (d *fakeDNS) query(ctx context.Context, name, typ string) ([]fakeRR, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := canonical(name)
	for range 8 {
		rrs, ok := d.zone[n]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		}
		cname := ""
		for _, rr := range rrs {
			if rr.typ == "CNAME" {
				cname = rr.data
			}
		}
		if cname == "" {
			return answer(name, rrs, typ)
		}
		n = canonical(cname)
	}
	return nil, &net.DNSError{Err: "server misbehaving (CNAME loop)", Name: name, IsTemporary: true}
}

func answer(name string, rrs []fakeRR, typ string) ([]fakeRR, error) {
	var out []fakeRR
	for _, rr := range rrs {
		if rr.typ == "TIMEOUT" {
			if len(out) == 0 {
				return nil, &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true, IsTemporary: true}
			}
			break
		}
		if rr.typ == typ {
			out = append(out, rr)
		}
	}
	if len(out) == 0 { // NODATA: net.Resolver reports it as not found too
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return out, nil
}

func (d *fakeDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := d.query(ctx, name, "TXT")
	var txts []string
	for _, rr := range rrs {
		txts = append(txts, rr.data)
	}
	return txts, err
}

func (d *fakeDNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := d.query(ctx, name, "MX")
	var mxs []*net.MX
	for _, rr := range rrs {
		mxs = append(mxs, &net.MX{Host: fqdn(rr.data), Pref: rr.pref})
	}
	return mxs, err
}

// LookupIPAddr queries A and AAAA, and like net.Resolver gives the
// addresses found if either query found some.
func (d *fakeDNS) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	var addrs []net.IPAddr
	var firstErr error
	for _, typ := range []string{"A", "AAAA"} {
		rrs, err := d.query(ctx, host, typ)
		if firstErr == nil || isNotFoundErr(firstErr) {
			firstErr = err
		}
		for _, rr := range rrs {
			ip, perr := netip.ParseAddr(rr.data)
			if perr != nil {
				return nil, fmt.Errorf("fake zone: %s %s %q: %v", host, typ, rr.data, perr)
			}
			addrs = append(addrs, net.IPAddr{IP: ip.AsSlice()})
		}
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	return nil, firstErr
}

func isNotFoundErr(err error) bool {
	de, ok := err.(*net.DNSError)
	return ok && de.IsNotFound
}

func (d *fakeDNS) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	rrs, err := d.query(ctx, reverseName(ip), "PTR")
	var names []string
	for _, rr := range rrs {
		names = append(names, fqdn(rr.data))
	}
	return names, err
}

// reverseName is ip's name under in-addr.arpa or ip6.arpa.
func reverseName(ip netip.Addr) string {
	var labels []string
	if ip.Is4() {
		for _, b := range ip.As4() {
			labels = append([]string{fmt.Sprint(b)}, labels...)
		}
		return strings.Join(labels, ".") + ".in-addr.arpa"
	}
	for _, b := range ip.As16() {
		labels = append([]string{fmt.Sprintf("%x", b&15), fmt.Sprintf("%x", b>>4)}, labels...)
	}
	return strings.Join(labels, ".") + ".ip6.arpa"
}
