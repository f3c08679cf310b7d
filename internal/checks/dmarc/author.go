package dmarc

import (
	"errors"
	netmail "net/mail"
	"slices"
	"strings"

	"golang.org/x/net/idna"

	"facteur.dev/facteur/internal/message"
)

// errDomain is the error of a name DMARC cannot look up.
var errDomain = errors.New("dmarc: not a domain name")

// normalizeDomain is d lower-cased in A-labels, without a final dot
// (DMARCbis §5.3.1: a U-label MUST be converted to an A-label; RFC 4343:
// names compare without case). An address literal or a name that cannot
// be a DNS name is an error.
func normalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	a, err := idna.Lookup.ToASCII(d)
	if err != nil || a == "" || len(a) > 253 {
		return "", errDomain
	}
	for _, l := range strings.Split(a, ".") {
		if l == "" || len(l) > 63 || !every(l, isHostByte) {
			return "", errDomain
		}
	}
	return a, nil
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// authorDomains are the distinct domains of the RFC5322.From header
// fields, in order. A message should have one From field with one
// domain; when it has more, every domain is evaluated as an author
// domain and the strictest failing policy applies (RFC 7489 §6.6.1;
// DMARCbis §10.5 "Denial of DMARC Processing Attacks": skipping such
// messages would let them spoof). The first field is read as the IMAP
// ENVELOPE reads it (message's lenient parser); further fields, which
// RFC 5322 §3.6 forbids, with net/mail, or by their "@domain" parts.
func authorDomains(p *message.Parsed) []string {
	if p == nil {
		return nil
	}
	var hosts []string
	for _, a := range p.Envelope.From {
		if !a.IsGroupStart() && !a.IsGroupEnd() {
			hosts = append(hosts, a.Host)
		}
	}
	first := true
	for _, f := range p.Headers {
		if !strings.EqualFold(f.Name, "From") {
			continue
		}
		if !first {
			hosts = append(hosts, fieldHosts(f.Value)...)
		}
		first = false
	}
	var out []string
	for _, h := range hosts {
		if d, err := normalizeDomain(h); err == nil && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// fieldHosts are the domains of a From field's addresses.
func fieldHosts(v string) []string {
	var out []string
	if list, err := netmail.ParseAddressList(v); err == nil {
		for _, a := range list {
			out = append(out, a.Address[strings.LastIndexByte(a.Address, '@')+1:])
		}
		return out
	}
	for rest := v; ; {
		_, after, ok := strings.Cut(rest, "@")
		if !ok {
			return out
		}
		end := strings.IndexAny(after, " \t<>,;:()\"[]@")
		if end < 0 {
			end = len(after)
		}
		out = append(out, after[:end])
		rest = after[end:]
	}
}
