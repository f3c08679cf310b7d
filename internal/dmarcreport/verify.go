package dmarcreport

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/idna"

	"facteur.dev/facteur/internal/checks/dmarc"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/mail"
)

// destination is one address of a rua tag.
type destination struct {
	URI     string // as published
	Address string // the mailto: address; "" for another scheme
	Domain  string // the address's domain, A-labels
	MaxSize uint64 // the !size limit in bytes, 0 for none
}

// mailtoURIs are the destinations of a rua tag: mailto: URIs (RFC 6068,
// one address each or a comma list) with their size limits; other
// schemes are kept with an empty Address.
func mailtoURIs(us []dmarc.URI) []destination {
	var out []destination
	for _, u := range us {
		scheme, rest, ok := strings.Cut(u.URI, ":")
		if !ok || !strings.EqualFold(scheme, "mailto") {
			out = append(out, destination{URI: u.URI, MaxSize: u.MaxSize})
			continue
		}
		rest, _, _ = strings.Cut(rest, "?") // headers (?subject=…) are not ours to send
		to, err := url.PathUnescape(rest)
		if err != nil {
			continue
		}
		for _, a := range strings.Split(to, ",") {
			addr, err := mail.ParseAddress(a)
			if err != nil {
				continue
			}
			d, err := idna.Lookup.ToASCII(addr.Domain)
			if err != nil {
				continue
			}
			out = append(out, destination{URI: u.URI, Address: addr.String(), Domain: d, MaxSize: u.MaxSize})
		}
	}
	return out
}

// Authorized reports whether reports about policyDomain may be sent to
// an address at ruaDomain (RFC 7489 §7.1): yes when both have one
// Organizational Domain; otherwise only when ruaDomain publishes a TXT
// record beginning with "v=DMARC1" at
// <policyDomain>._report._dmarc.<ruaDomain>. A DNS failure is an error:
// the caller may try again later.
func Authorized(ctx context.Context, r dns.Resolver, policyDomain, ruaDomain string) (bool, error) {
	policyDomain, ruaDomain = strings.ToLower(policyDomain), strings.ToLower(ruaDomain)
	if policyDomain == ruaDomain {
		return true, nil
	}
	po, err := dmarc.OrganizationalDomain(ctx, r, policyDomain)
	if err != nil {
		return false, err
	}
	ro, err := dmarc.OrganizationalDomain(ctx, r, ruaDomain)
	if err != nil {
		return false, err
	}
	if po == ro {
		return true, nil
	}
	txts, err := r.LookupTXT(ctx, verificationName(policyDomain, ruaDomain))
	if dns.NotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dmarcreport: %s: %w", verificationName(policyDomain, ruaDomain), err)
	}
	for _, t := range txts {
		if isDMARC1(t) {
			return true, nil
		}
	}
	return false, nil
}

// verificationName is where ruaDomain says it takes reports about
// policyDomain (RFC 7489 §7.1 steps 1-3).
func verificationName(policyDomain, ruaDomain string) string {
	return policyDomain + "._report._dmarc." + ruaDomain
}

// isDMARC1 reports whether a TXT record starts with the version tag
// v=DMARC1 (RFC 7489 §7.1 step 5), white space allowed around "=".
func isDMARC1(txt string) bool {
	name, rest, ok := strings.Cut(txt, "=")
	if !ok || strings.TrimRight(name, " \t") != "v" {
		return false
	}
	rest = strings.TrimLeft(rest, " \t")
	if !strings.HasPrefix(rest, "DMARC1") {
		return false
	}
	rest = strings.TrimLeft(rest[len("DMARC1"):], " \t")
	return rest == "" || rest[0] == ';'
}
