package dmarc

import (
	"context"
	"fmt"
	"strings"

	"facteur.dev/facteur/internal/dns"
)

// maxWalkQueries bounds one DNS Tree Walk (DMARCbis §4.10): a name of
// eight labels or more is cut to its last seven after the first query.
const maxWalkQueries = 8

// found is a DMARC record at one name of a tree walk: Record, or Err
// (wrapping ErrPolicy) for a record that starts with v=DMARC1 but that
// Parse refused.
type found struct {
	Domain string
	Record *Record
	Err    error
}

// walker runs the tree walks of one message, remembering each name's
// answer, so the walks for policy discovery and for the organizational
// domains of the identifiers ask each name once.
type walker struct {
	r     dns.Resolver
	names map[string]lookup   // domain → its _dmarc answer
	walks map[string][]found  // start domain → records found
	orgs  map[string]string   // domain → organizational domain
	exist map[string]existing // domain → whether it exists (np)
}

type lookup struct {
	f   *found // nil: no single DMARC record there
	err error  // a DNS failure other than "not found"
}

type existing struct {
	ok  bool
	err error
}

func newWalker(r dns.Resolver) *walker {
	return &walker{r: r, names: map[string]lookup{}, walks: map[string][]found{},
		orgs: map[string]string{}, exist: map[string]existing{}}
}

// record asks for the DMARC record of domain: the TXT records at
// _dmarc.<domain> that start with v=DMARC1, discarded unless there is
// exactly one (DMARCbis §4.10 steps 2 and 6; where RFC 7489 §6.6.3 step
// 5 ended discovery on several, the walk goes on). NXDOMAIN and NODATA
// are "no record"; any other failure is returned.
func (w *walker) record(ctx context.Context, domain string) (*found, error) {
	if l, ok := w.names[domain]; ok {
		return l.f, l.err
	}
	txts, err := w.r.LookupTXT(ctx, "_dmarc."+domain)
	var l lookup
	switch {
	case err != nil && !dns.NotFound(err):
		l.err = fmt.Errorf("dmarc: _dmarc.%s: %w", domain, err)
	case err == nil:
		l.f = single(domain, txts)
	}
	w.names[domain] = l
	return l.f, l.err
}

// single parses the one DMARC record among txts, nil if there are none
// or several.
func single(domain string, txts []string) *found {
	var only string
	n := 0
	for _, t := range txts {
		if _, ok := splitTags(t); ok {
			only, n = t, n+1
		}
	}
	if n != 1 {
		return nil
	}
	rec, err := Parse(only)
	return &found{Domain: domain, Record: rec, Err: err}
}

// walk is the DNS Tree Walk from start (DMARCbis §4.10): the records
// found from start up to the top-level domain, longest name first. It
// stops after a record with psd=y or psd=n, and asks at most eight names:
// after the first query a name of eight labels or more is cut to its
// last seven (step 4), then one label goes at a time (step 7).
func (w *walker) walk(ctx context.Context, start string) ([]found, error) {
	if fs, ok := w.walks[start]; ok {
		return fs, nil
	}
	var fs []found
	labels := strings.Split(start, ".")
	for i, n := 0, 0; i < len(labels) && n < maxWalkQueries; n++ {
		f, err := w.record(ctx, strings.Join(labels[i:], "."))
		if err != nil {
			return nil, err
		}
		if f != nil {
			fs = append(fs, *f)
			if f.Err == nil && f.Record.PSD != "u" {
				break
			}
		}
		if n == 0 && len(labels) >= maxWalkQueries {
			i = len(labels) - (maxWalkQueries - 1)
		} else {
			i++
		}
	}
	w.walks[start] = fs
	return fs, nil
}

// orgDomain is the Organizational Domain of domain (DMARCbis §4.10.2):
// among the valid records its tree walk found, longest name first, the
// first with psd=n is at the organizational domain; a record with psd=y
// other than domain's own marks a public suffix, and the organizational
// domain is the name one label below it; otherwise it is the name with
// the fewest labels that has a record. Without any, it is domain itself.
func (w *walker) orgDomain(ctx context.Context, domain string) (string, error) {
	if o, ok := w.orgs[domain]; ok {
		return o, nil
	}
	fs, err := w.walk(ctx, domain)
	if err != nil {
		return "", err
	}
	org := selectOrg(domain, fs)
	w.orgs[domain] = org
	return org, nil
}

func selectOrg(domain string, fs []found) string {
	org := domain
	for _, f := range fs {
		if f.Err != nil {
			continue
		}
		switch {
		case f.Record.PSD == "n":
			return f.Domain
		case f.Record.PSD == "y" && f.Domain != domain:
			return childOf(domain, f.Domain)
		}
		org = f.Domain // fs is longest first: the last valid one has the fewest labels
	}
	return org
}

// childOf is the ancestor of domain (or domain) one label below its
// ancestor parent.
func childOf(domain, parent string) string {
	labels := strings.Split(domain, ".")
	n := strings.Count(parent, ".") + 2
	return strings.Join(labels[len(labels)-n:], ".")
}

// discover finds the policy record of an author domain (DMARCbis
// §4.10.1): the record at the author domain, else the one at its
// Organizational Domain, else the one of its Public Suffix Domain (a
// record with psd=y found by the walk). The record at the author domain
// needs one query; the walk goes on only without it.
func (w *walker) discover(ctx context.Context, author string) (*found, error) {
	f, err := w.record(ctx, author)
	if err != nil || f != nil {
		return f, err
	}
	fs, err := w.walk(ctx, author)
	if err != nil {
		return nil, err
	}
	org := selectOrg(author, fs)
	var psd *found
	for i := range fs {
		switch {
		case fs[i].Domain == org:
			return &fs[i], nil
		case fs[i].Err == nil && fs[i].Record.PSD == "y":
			psd = &fs[i]
		}
	}
	return psd, nil
}

// exists tells whether domain exists, for np: RFC 9091 §2.7 calls a
// domain non-existent when its A, AAAA and MX lookups all answer
// NXDOMAIN or NODATA. (DMARCbis §3.2.13 narrows this to NXDOMAIN, which
// the resolver does not tell from NODATA; the broader test only matters
// for a name that has records but no address or MX.)
func (w *walker) exists(ctx context.Context, domain string) (bool, error) {
	if e, ok := w.exist[domain]; ok {
		return e.ok, e.err
	}
	var e existing
	if _, err := w.r.LookupIPAddr(ctx, domain); err == nil {
		e.ok = true
	} else if !dns.NotFound(err) {
		e.err = fmt.Errorf("dmarc: %s A/AAAA: %w", domain, err)
	} else if _, err := w.r.LookupMX(ctx, domain); err == nil {
		e.ok = true
	} else if !dns.NotFound(err) {
		e.err = fmt.Errorf("dmarc: %s MX: %w", domain, err)
	}
	w.exist[domain] = e
	return e.ok, e.err
}

// Discover finds the DMARC policy record that applies to mail from
// domain (DMARCbis §4.10.1) and where it was published. A nil record and
// a nil error mean DMARC does not apply. A record that starts with
// v=DMARC1 but is not valid gives its policy domain and an error
// wrapping ErrPolicy; a DNS failure gives an error wrapping the
// resolver's.
func Discover(ctx context.Context, r dns.Resolver, domain string) (policyDomain string, rec *Record, err error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return "", nil, err
	}
	f, err := newWalker(r).discover(ctx, d)
	if err != nil || f == nil {
		return "", nil, err
	}
	return f.Domain, f.Record, f.Err
}

// OrganizationalDomain is the Organizational Domain of domain by the DNS
// Tree Walk (DMARCbis §4.10.2), in A-labels.
func OrganizationalDomain(ctx context.Context, r dns.Resolver, domain string) (string, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return "", err
	}
	return newWalker(r).orgDomain(ctx, d)
}
