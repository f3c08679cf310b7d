package senderlist

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"golang.org/x/net/idna"

	"facteur.dev/facteur/internal/mail"
)

// The methods that authenticate an identity.
const (
	MethodDMARC = "dmarc" // the From domain of dmarc=pass
	MethodDKIM  = "dkim"  // the d= of dkim=pass
)

// Identity is a domain that authenticated a message.
type Identity struct {
	Domain string // lowercase, Unicode form
	Method string // MethodDMARC or MethodDKIM
}

// Identities returns the domains that results authenticate, each once
// (by the first method that did), in the order of results: the From
// domain of every dmarc=pass result and the d= domain of every dkim=pass
// result. Every other result, and every other value (fail, none,
// temperror …), authenticates nothing.
func Identities(results []authres.Result) []Identity {
	var out []Identity
	seen := map[string]bool{}
	add := func(domain, method string) {
		d, err := normalize(domain)
		if err != nil || seen[d] {
			return
		}
		seen[d] = true
		out = append(out, Identity{Domain: d, Method: method})
	}
	for _, r := range results {
		switch r := r.(type) {
		case *authres.DMARCResult:
			if r.Value == authres.ResultPass {
				add(r.From, MethodDMARC)
			}
		case *authres.DKIMResult:
			if r.Value == authres.ResultPass {
				add(r.Domain, MethodDKIM)
			}
		}
	}
	return out
}

// Matches reports whether the rule domain pattern ("a.test" or
// "*.a.test", as ParseDomain returns it) matches domain (lowercase,
// Unicode form).
func Matches(pattern, domain string) bool {
	if base, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(domain, "."+base)
	}
	return domain == pattern
}

// ParseDomain reads a rule's domain as an administrator writes it,
// "a.test" or "*.a.test", in any case, in A-labels or Unicode, and
// returns it as the store keeps it: lowercase, Unicode form.
func ParseDomain(s string) (string, error) {
	base, wild := strings.CutPrefix(strings.TrimSpace(s), "*.")
	d, err := normalize(base)
	if err != nil {
		return "", fmt.Errorf("%q is neither a domain nor *.domain", s)
	}
	if wild {
		d = "*." + d
	}
	return d, nil
}

var errNotDomain = errors.New("not a domain name")

// normalize is mail.NormalizeDomain for a DNS name: no address literal,
// no empty label.
func normalize(s string) (string, error) {
	d, err := mail.NormalizeDomain(s)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(d, "[") || strings.Contains(d, "..") || strings.HasPrefix(d, ".") {
		return "", errNotDomain
	}
	return d, nil
}

// ascii is domain in A-labels, for a header field; as it is when it has
// none.
func ascii(domain string) string {
	if a, err := idna.Lookup.ToASCII(domain); err == nil {
		return a
	}
	return domain
}

// asciiPattern is ascii for a rule's domain.
func asciiPattern(p string) string {
	if base, ok := strings.CutPrefix(p, "*."); ok {
		return "*." + ascii(base)
	}
	return ascii(p)
}
