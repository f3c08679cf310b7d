package dmarc

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Policy is a Domain Owner Assessment Policy (the p, sp and np tags), and
// what a receiver did with a message (the disposition of a report).
type Policy string

const (
	PolicyNone       Policy = "none"
	PolicyQuarantine Policy = "quarantine"
	PolicyReject     Policy = "reject"
)

// weaker is the policy one level below p, which a record in test mode
// (DMARCbis §4.7, "t") or a message sampled out (RFC 7489 §6.6.4) gets.
func (p Policy) weaker() Policy {
	if p == PolicyReject {
		return PolicyQuarantine
	}
	return PolicyNone
}

// strength orders policies, none < quarantine < reject.
func (p Policy) strength() int {
	switch p {
	case PolicyQuarantine:
		return 1
	case PolicyReject:
		return 2
	}
	return 0
}

// Alignment is an identifier alignment mode (the adkim and aspf tags).
type Alignment string

const (
	Relaxed Alignment = "r"
	Strict  Alignment = "s"
)

// URI is one reporting address of rua or ruf.
type URI struct {
	URI string // as published, percent-encoding kept
	// MaxSize is the "!size" suffix in bytes (RFC 7489 §6.2; DMARCbis
	// drops the suffix and tells reporters to ignore it), 0 for none.
	MaxSize uint64
}

// Record is a DMARC policy record (RFC 7489 §6.3, DMARCbis §4.7). Parse
// fills in the defaults of absent or malformed tags.
type Record struct {
	Policy            Policy    // p; none when absent (DMARCbis §4.7)
	SubdomainPolicy   Policy    // sp; "" when absent: Policy applies
	NonexistentPolicy Policy    // np (DMARCbis, RFC 9091); "" when absent: sp, then p
	DKIMAlignment     Alignment // adkim, Relaxed by default
	SPFAlignment      Alignment // aspf, Relaxed by default
	// Percent is pct, 0 to 100 (default 100): the share of failing mail
	// to apply the policy to (RFC 7489 §6.6.4). DMARCbis makes it
	// historic in favour of Testing; it is still honoured.
	Percent        int
	Testing        bool     // t=y (DMARCbis §4.7): apply one level below the policy
	PSD            string   // psd (DMARCbis): "y", "n" or "u" (default)
	AggregateURIs  []URI    // rua, the syntactically valid ones
	FailureURIs    []URI    // ruf, the syntactically valid ones
	FailureOptions []string // fo: "0", "1", "d", "s"; ["0"] by default
	ReportFormats  []string // rf (RFC 7489; historic in DMARCbis), ["afrf"] by default
	ReportInterval uint32   // ri in seconds (RFC 7489; historic in DMARCbis), 86400 by default
}

// Errors of Parse.
var (
	// ErrNotDMARC: the text does not start with "v=DMARC1" (RFC 7489
	// §6.3, DMARCbis §4.7: such a record is ignored entirely).
	ErrNotDMARC = errors.New("dmarc: not a DMARC1 record")
	// ErrPolicy: p, sp or np is not valid and there is no valid rua, so
	// no DMARC processing applies (RFC 7489 §6.6.3 step 6, DMARCbis
	// §4.10.1).
	ErrPolicy = errors.New("dmarc: invalid policy in record")
)

const (
	defaultInterval = 86400
	defaultPercent  = 100
)

func defaultRecord() *Record {
	return &Record{Policy: PolicyNone, DKIMAlignment: Relaxed, SPFAlignment: Relaxed,
		Percent: defaultPercent, PSD: "u", FailureOptions: []string{"0"},
		ReportFormats: []string{"afrf"}, ReportInterval: defaultInterval}
}

// Parse reads a DMARC record, the strings of one TXT record joined.
//
// The version tag must come first and be exactly "DMARC1". Unknown tags
// are ignored (RFC 7489 §6.3, DMARCbis §4.7), and so is a known tag whose
// value is malformed or repeated: "syntax errors in the remainder of the
// record MUST be discarded in favor of default values (if any) or ignored
// outright" (DMARCbis §4.7; SHOULD in RFC 7489 §6.3). The exception is
// the policy: an invalid p, sp or np makes the record act as "p=none" if
// rua holds a valid URI, and fails with ErrPolicy otherwise (RFC 7489
// §6.6.3 step 6, DMARCbis §4.10.1). An absent p is "none" (DMARCbis §4.7;
// RFC 7489 required p as the second tag, DMARCbis does not).
func Parse(txt string) (*Record, error) {
	tags, ok := splitTags(txt)
	if !ok {
		return nil, ErrNotDMARC
	}
	r := defaultRecord()
	badPolicy := ""
	for _, t := range tags {
		if !(isValue(t.value) && r.set(t.name, t.value)) && isPolicyTag(t.name) && badPolicy == "" {
			badPolicy = t.name + "=" + t.value
		}
	}
	if badPolicy != "" {
		if len(r.AggregateURIs) == 0 {
			return nil, fmt.Errorf("%w: %q", ErrPolicy, badPolicy)
		}
		// "act as if a record containing p=none was retrieved".
		r.Policy, r.SubdomainPolicy, r.NonexistentPolicy = PolicyNone, "", ""
	}
	return r, nil
}

type tag struct{ name, value string }

// splitTags splits a record into its tags after the version tag, the
// first (RFC 7489 §6.4, DMARCbis §4.8): dmarc-sep is *WSP ";" *WSP and
// equals is *WSP "=" *WSP. Names are lower-cased (ABNF strings are case-
// insensitive); a repeated name keeps its first value. ok is false when
// the record does not start with v=DMARC1. Values are not checked.
func splitTags(txt string) (tags []tag, ok bool) {
	parts := strings.Split(txt, ";")
	name, value, found := strings.Cut(parts[0], "=")
	if !found || !strings.EqualFold(trimWSP(name), "v") || trimWSP(value) != "DMARC1" {
		return nil, false
	}
	seen := map[string]bool{"v": true}
	for _, p := range parts[1:] {
		name, value, found := strings.Cut(p, "=")
		name, value = strings.ToLower(trimWSP(name)), trimWSP(value)
		if !found || !isAlpha(name) || seen[name] {
			continue
		}
		seen[name] = true
		tags = append(tags, tag{name, value})
	}
	return tags, true
}

func trimWSP(s string) string { return strings.Trim(s, " \t") }

// every reports whether s is not empty and every byte of it is ok.
func every(s string, ok func(c byte) bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// isAlpha: 1*ALPHA, a tag name.
func isAlpha(s string) bool {
	return every(s, func(c byte) bool { c |= 0x20; return c >= 'a' && c <= 'z' })
}

// isValue: 1*dmarc-value, printable ASCII and space but ";" (which
// splitting already removed).
func isValue(s string) bool { return every(s, func(c byte) bool { return c >= 0x20 && c <= 0x7e }) }

// isDigits: 1*DIGIT.
func isDigits(s string) bool { return every(s, func(c byte) bool { return c >= '0' && c <= '9' }) }

func isPolicyTag(name string) bool { return name == "p" || name == "sp" || name == "np" }

// set applies one tag and reports whether its value was valid. Unknown
// tags are valid and ignored.
func (r *Record) set(name, value string) bool {
	lower := strings.ToLower(value)
	switch name {
	case "p", "sp", "np":
		return r.setPolicy(name, lower)
	case "adkim", "aspf":
		return r.setAlignment(name, lower)
	case "pct":
		n, err := strconv.Atoi(value)
		if !isDigits(value) || err != nil || n > 100 {
			return false
		}
		r.Percent = n
	case "t":
		if lower != "y" && lower != "n" {
			return false
		}
		r.Testing = lower == "y"
	case "psd":
		if lower != "y" && lower != "n" && lower != "u" {
			return false
		}
		r.PSD = lower
	case "rua", "ruf":
		return r.setURIs(name, value)
	case "fo":
		return setList(&r.FailureOptions, lower, func(s string) bool { return s == "0" || s == "1" || s == "d" || s == "s" })
	case "rf":
		return setList(&r.ReportFormats, lower, isKeyword)
	case "ri":
		n, err := strconv.ParseUint(value, 10, 32)
		if !isDigits(value) || err != nil {
			return false
		}
		r.ReportInterval = uint32(n)
	}
	return true
}

func (r *Record) setPolicy(name, v string) bool {
	p := Policy(v)
	if p != PolicyNone && p != PolicyQuarantine && p != PolicyReject {
		return false
	}
	switch name {
	case "p":
		r.Policy = p
	case "sp":
		r.SubdomainPolicy = p
	default:
		r.NonexistentPolicy = p
	}
	return true
}

func (r *Record) setAlignment(name, v string) bool {
	a := Alignment(v)
	if a != Relaxed && a != Strict {
		return false
	}
	if name == "adkim" {
		r.DKIMAlignment = a
	} else {
		r.SPFAlignment = a
	}
	return true
}

// setURIs keeps the valid URIs of a dmarc-urilist (RFC 7489 §6.4:
// dmarc-uri *(*WSP "," *WSP dmarc-uri)); the tag is valid when one is.
func (r *Record) setURIs(name, v string) bool {
	var out []URI
	for _, s := range strings.Split(v, ",") {
		if u, ok := parseURI(trimWSP(s)); ok {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return false
	}
	if name == "rua" {
		r.AggregateURIs = out
	} else {
		r.FailureURIs = out
	}
	return true
}

// sizeUnits are the multipliers of the "!size" suffix (RFC 7489 §6.2).
var sizeUnits = map[byte]uint64{'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}

// parseURI reads dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]
// (RFC 7489 §6.4); "," and "!" inside the URI must be percent-encoded,
// so the first "!" starts the size. The URI must be absolute (have a
// scheme).
func parseURI(s string) (URI, bool) {
	raw, size, hasSize := strings.Cut(s, "!")
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || strings.ContainsAny(raw, " \t") {
		return URI{}, false
	}
	out := URI{URI: raw}
	if !hasSize {
		return out, true
	}
	mult := uint64(1)
	if n := len(size); n > 0 && sizeUnits[size[n-1]|0x20] != 0 {
		mult, size = sizeUnits[size[n-1]|0x20], size[:n-1]
	}
	n, err := strconv.ParseUint(size, 10, 64)
	if !isDigits(size) || err != nil || n > ^uint64(0)/mult {
		return URI{}, false
	}
	out.MaxSize = n * mult
	return out, true
}

// setList reads a colon-separated list (fo, rf: RFC 7489 §6.4), every
// item valid.
func setList(dst *[]string, v string, valid func(string) bool) bool {
	var out []string
	for _, s := range strings.Split(v, ":") {
		s = trimWSP(s)
		if !valid(s) {
			return false
		}
		out = append(out, s)
	}
	*dst = out
	return true
}

// isKeyword: a Keyword of RFC 5321 §4.1.2, lower-cased (letters,
// digits, hyphens), for rf.
func isKeyword(s string) bool {
	return every(s, func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' })
}

// String is the record in DMARC syntax, defaults left out, so that
// Parse(r.String()) is r.
func (r *Record) String() string {
	parts := []string{"v=DMARC1", "p=" + string(r.Policy)}
	add := func(cond bool, name, value string) {
		if cond {
			parts = append(parts, name+"="+value)
		}
	}
	add(r.SubdomainPolicy != "", "sp", string(r.SubdomainPolicy))
	add(r.NonexistentPolicy != "", "np", string(r.NonexistentPolicy))
	add(r.DKIMAlignment != Relaxed, "adkim", string(r.DKIMAlignment))
	add(r.SPFAlignment != Relaxed, "aspf", string(r.SPFAlignment))
	add(r.Percent != defaultPercent, "pct", strconv.Itoa(r.Percent))
	add(r.Testing, "t", "y")
	add(r.PSD != "u", "psd", r.PSD)
	add(len(r.AggregateURIs) > 0, "rua", formatURIs(r.AggregateURIs))
	add(len(r.FailureURIs) > 0, "ruf", formatURIs(r.FailureURIs))
	add(!slices.Equal(r.FailureOptions, []string{"0"}), "fo", strings.Join(r.FailureOptions, ":"))
	add(!slices.Equal(r.ReportFormats, []string{"afrf"}), "rf", strings.Join(r.ReportFormats, ":"))
	add(r.ReportInterval != defaultInterval, "ri", strconv.FormatUint(uint64(r.ReportInterval), 10))
	return strings.Join(parts, "; ")
}

func formatURIs(us []URI) string {
	s := make([]string, len(us))
	for i, u := range us {
		s[i] = u.URI
		if u.MaxSize > 0 {
			s[i] += "!" + strconv.FormatUint(u.MaxSize, 10)
		}
	}
	return strings.Join(s, ",")
}

// policyFor is the policy for an author domain under this record: p at
// the policy domain itself; below it sp, or np for a domain that does
// not exist, each falling back (np to sp) to p (DMARCbis §4.10.1 and the
// np and sp tags of §4.7).
func (r *Record) policyFor(subdomain, nonexistent bool) Policy {
	switch {
	case !subdomain:
		return r.Policy
	case nonexistent && r.NonexistentPolicy != "":
		return r.NonexistentPolicy
	case r.SubdomainPolicy != "":
		return r.SubdomainPolicy
	}
	return r.Policy
}
