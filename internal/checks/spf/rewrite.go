package spf

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
)

// maxPTRNames is how many PTR names of <ip> are checked, for ptr and for
// %{p} (RFC 7208 §4.6.4).
const maxPTRNames = 10

// rewrite turns a parsed record of domain into the text the library
// evaluates (see evaluation), and returns the stand-in of its redirect
// target, "" when it has none.
func (e *evaluation) rewrite(ctx context.Context, rec *record, domain string) (text, redirect string, err error) {
	env := e.envFor(ctx, domain)
	fields := []string{"v=spf1"}
	for _, t := range rec.terms {
		f, err := e.directive(t, env)
		if err != nil {
			return "", "", err
		}
		if f != "" {
			fields = append(fields, f)
		}
	}
	if rec.redirect != "" {
		name, err := expandTarget(rec.redirect, env)
		if err != nil {
			return "", "", err
		}
		redirect = e.standIn(name, false)
		fields = append(fields, "redirect="+redirect)
	}
	return strings.Join(fields, " "), redirect, nil
}

// envFor is the macro environment of domain's record.
func (e *evaluation) envFor(ctx context.Context, domain string) *macroEnv {
	env := e.env
	env.domain = domain
	env.ptr = func() string { return e.validatedName(ctx, domain) }
	return &env
}

// directive rewrites one directive; "" drops it.
func (e *evaluation) directive(t term, env *macroEnv) (string, error) {
	q := string(t.qual)
	switch t.name {
	case "all":
		return q + "all", nil
	case "ip4", "ip6":
		if !t.prefix.Contains(env.ip) {
			return "", nil // no DNS lookup, so nothing to count
		}
		return q + ipTerm(env.ip), nil
	}
	name := env.domain // a, mx and ptr without a domain-spec (§5.3-5.5)
	if t.spec != "" {
		var err error
		if name, err = expandTarget(t.spec, env); err != nil {
			return "", err
		}
	}
	switch t.name {
	case "ptr":
		return q + "ptr:" + e.ptrTarget(name), nil
	case "a", "mx":
		return q + t.name + ":" + e.standIn(name, false) + cidrSuffix(t), nil
	case "exists":
		return q + "exists:" + e.standIn(name, true), nil
	}
	return q + "include:" + e.standIn(name, false), nil
}

// ipTerm is an ip4 or ip6 term that matches ip alone.
func ipTerm(ip netip.Addr) string {
	if ip.Is4() {
		return "ip4:" + ip.String() + "/32"
	}
	return "ip6:" + ip.String() + "/128"
}

func cidrSuffix(t term) string {
	s := ""
	if t.cidr4 >= 0 {
		s += "/" + strconv.Itoa(t.cidr4)
	}
	if t.cidr6 >= 0 {
		s += "//" + strconv.Itoa(t.cidr6)
	}
	return s
}

// ptrTarget is the ptr mechanism's target as the library reads it: it
// compares it with the validated names itself, so it gets the name, with
// "%" escaped for its macro expander. A name with a space or "/", which
// that parser cannot take, is no host name (RFC 1123 §2.1), so no
// validated name ends in it: it gets a stand-in, which matches nothing.
func (e *evaluation) ptrTarget(name string) string {
	if name == "" || strings.ContainsAny(name, " /") {
		return e.standIn(name, false)
	}
	return strings.ReplaceAll(name, "%", "%%")
}

// expandTarget expands a domain-spec into the name to look up (RFC 7208
// §7.3, with its truncation to 253 characters).
func expandTarget(spec string, env *macroEnv) (string, error) {
	name, _, err := expandMacros(spec, domainLetters, env)
	return truncateDomain(name), err
}

// validatedName is %{p} in domain's record: of the validated names of
// <ip>, domain itself, else a subdomain of it, else any; "unknown" when
// there is none or DNS fails (RFC 7208 §7.3).
func (e *evaluation) validatedName(ctx context.Context, domain string) string {
	names := e.validatedNames(ctx)
	for _, n := range names {
		if strings.EqualFold(n, strings.TrimSuffix(domain, ".")) {
			return n
		}
	}
	for _, n := range names {
		if isSubdomain(n, domain) {
			return n
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return "unknown"
}

// validatedNames are the PTR names of <ip> whose addresses include <ip>,
// of the first 10 (RFC 7208 §5.5), without their final dot.
func (e *evaluation) validatedNames(ctx context.Context) []string {
	if e.namesDone {
		return e.names
	}
	e.namesDone = true
	ptrs, err := e.dns.LookupAddr(ctx, e.env.ip.String())
	if err != nil {
		return nil
	}
	for _, name := range ptrs[:min(len(ptrs), maxPTRNames)] {
		if e.resolvesToIP(ctx, name) {
			e.names = append(e.names, strings.TrimSuffix(name, "."))
		}
	}
	return e.names
}

func (e *evaluation) resolvesToIP(ctx context.Context, name string) bool {
	if !queryable(name) {
		return false
	}
	addrs, err := e.dns.LookupIPAddr(ctx, name)
	if err != nil {
		return false // §5.5: a name whose lookup fails is skipped
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == e.env.ip {
			return true
		}
	}
	return false
}

// isSubdomain reports whether name is domain or below it, ignoring case
// and final dots.
func isSubdomain(name, domain string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	return name == domain || strings.HasSuffix(name, "."+domain)
}
