package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// A record is an SPF record parsed and checked against the whole grammar
// of RFC 7208 §12 before any of it is evaluated: §4.6 says a syntax error
// anywhere in the record is a permerror, even after a mechanism that
// matches.
type record struct {
	terms    []term // the directives, in order (RFC 7208 §4.6.2)
	redirect string // the redirect= domain-spec, unexpanded; "" when absent
	exp      string // the exp= domain-spec, unexpanded; "" when absent
}

// A term is one directive: a qualifier and a mechanism (RFC 7208 §4.6.1).
type term struct {
	qual   byte         // '+', '-', '~' or '?'; '+' when none is written (§4.6.2)
	name   string       // the mechanism, in lower case
	spec   string       // its domain-spec, unexpanded; "" means <domain>
	prefix netip.Prefix // ip4 and ip6: the network
	cidr4  int          // a and mx: the IPv4 prefix length, -1 when absent
	cidr6  int          // a and mx: the IPv6 prefix length, -1 when absent
}

// Macro letters: the ones a domain-spec may use, and the ones an
// explanation string may use as well (RFC 7208 §7.2).
const (
	domainLetters  = "slodipvh"
	explainLetters = "slodipvhcrt"
)

var (
	// modifier = name "=" ...; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
	// (RFC 7208 §4.6.1, §12). A name cannot hold ":" or "/", so a term whose
	// "=" comes after one of them is a mechanism.
	modifierRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$`)

	// The arguments of a and mx: [ ":" domain-spec ] [ dual-cidr-length ]
	// (RFC 7208 §5.3, §5.4). The domain-spec may itself hold "/", so it is
	// matched lazily and the prefix lengths take the longest suffix.
	hostArgsRE = regexp.MustCompile(`^(:.*?)?(/[0-9]+)?(//[0-9]+)?$`)
)

var errSyntax = errors.New("syntax error")

// isSPFRecord reports whether a TXT string is an SPF record: "v=spf1", in
// any case, followed by a space or nothing (RFC 7208 §4.5).
func isSPFRecord(txt string) bool {
	return len(txt) >= 6 && strings.EqualFold(txt[:6], "v=spf1") &&
		(len(txt) == 6 || txt[6] == ' ')
}

// parseRecord parses an SPF record (one for which isSPFRecord is true).
// Terms are separated by one or more spaces, and nothing else (RFC 7208
// §4.6.1, §12: record = version terms *SP).
func parseRecord(txt string) (*record, error) {
	rec := &record{}
	for _, field := range strings.Split(txt[len("v=spf1"):], " ") {
		if field == "" {
			continue
		}
		if err := rec.add(field); err != nil {
			return nil, fmt.Errorf("term %q: %w", field, err)
		}
	}
	return rec, nil
}

func (rec *record) add(field string) error {
	for i := 0; i < len(field); i++ {
		// Terms are visible 7-bit ASCII (RFC 7208 §3.1, §12).
		if field[i] <= ' ' || field[i] > '~' {
			return fmt.Errorf("%w: byte %#x", errSyntax, field[i])
		}
	}
	if m := modifierRE.FindStringSubmatch(field); m != nil {
		return rec.addModifier(strings.ToLower(m[1]), m[2])
	}
	t, err := parseDirective(field)
	if err != nil {
		return err
	}
	rec.terms = append(rec.terms, t)
	return nil
}

// addModifier records redirect= and exp=, each allowed once (RFC 7208
// §6), and checks the macro syntax of the others, which are ignored
// (§6: unknown-modifier = name "=" macro-string).
func (rec *record) addModifier(name, value string) error {
	var slot *string
	switch name {
	case "redirect":
		slot = &rec.redirect
	case "exp":
		slot = &rec.exp
	default:
		_, _, err := expandMacros(value, explainLetters, nil)
		return err
	}
	if *slot != "" {
		return fmt.Errorf("%w: %s= given twice", errSyntax, name)
	}
	if err := checkDomainSpec(value); err != nil {
		return err
	}
	*slot = value
	return nil
}

// parseDirective parses [ qualifier ] mechanism (RFC 7208 §4.6.2, §5).
func parseDirective(field string) (term, error) {
	t := term{qual: '+', cidr4: -1, cidr6: -1}
	if strings.IndexByte("+-~?", field[0]) >= 0 {
		t.qual, field = field[0], field[1:]
	}
	name, args := field, ""
	if i := strings.IndexAny(field, ":/"); i >= 0 {
		name, args = field[:i], field[i:]
	}
	t.name = strings.ToLower(name)
	var err error
	switch t.name {
	case "all": // RFC 7208 §5.1: all takes no argument.
		if args != "" {
			err = fmt.Errorf("%w: all takes no argument", errSyntax)
		}
	case "include", "exists": // §5.2, §5.7: a domain-spec is required.
		t.spec, err = requiredSpec(args)
	case "ptr": // §5.5: ptr [ ":" domain-spec ]
		if args != "" {
			t.spec, err = requiredSpec(args)
		}
	case "a", "mx":
		err = t.parseHostArgs(args)
	case "ip4", "ip6":
		t.prefix, err = parseNetwork(t.name, args)
	default:
		err = fmt.Errorf("%w: unknown mechanism %q", errSyntax, name)
	}
	return t, err
}

// requiredSpec parses ":" domain-spec.
func requiredSpec(args string) (string, error) {
	spec, ok := strings.CutPrefix(args, ":")
	if !ok || spec == "" {
		return "", fmt.Errorf("%w: missing domain-spec", errSyntax)
	}
	return spec, checkDomainSpec(spec)
}

// parseHostArgs parses the arguments of a and mx (RFC 7208 §5.3, §5.4).
func (t *term) parseHostArgs(args string) error {
	m := hostArgsRE.FindStringSubmatch(args)
	if m == nil {
		return fmt.Errorf("%w: bad %s arguments", errSyntax, t.name)
	}
	var err error
	if m[1] != "" {
		if t.spec, err = requiredSpec(m[1]); err != nil {
			return err
		}
	}
	if m[2] != "" {
		if t.cidr4, err = prefixLength(m[2][1:], 32); err != nil {
			return err
		}
	}
	if m[3] != "" {
		t.cidr6, err = prefixLength(m[3][2:], 128)
	}
	return err
}

// prefixLength parses a CIDR length: "0" or digits without a leading zero,
// at most max (RFC 7208 §5.6, §12: ip4-cidr-length, ip6-cidr-length).
func prefixLength(s string, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || !allDigits(s) || n > max || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%w: bad prefix length %q", errSyntax, s)
	}
	return n, nil
}

// parseNetwork parses the argument of ip4 or ip6: ":" network [ "/" length ]
// (RFC 7208 §5.6). IPv4 octets with leading zeros are refused, as
// netip.ParseAddr does and §12's qnum requires.
func parseNetwork(mech, args string) (netip.Prefix, error) {
	spec, ok := strings.CutPrefix(args, ":")
	if !ok {
		return netip.Prefix{}, fmt.Errorf("%w: %s needs a network", errSyntax, mech)
	}
	addrText, length, hasLength := strings.Cut(spec, "/")
	addr, err := netip.ParseAddr(addrText)
	v4 := mech == "ip4"
	if err != nil || addr.Is4() != v4 || addr.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%w: bad %s network %q", errSyntax, mech, addrText)
	}
	bits := addr.BitLen()
	if hasLength {
		if bits, err = prefixLength(length, addr.BitLen()); err != nil {
			return netip.Prefix{}, err
		}
	}
	return netip.PrefixFrom(addr, bits), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
