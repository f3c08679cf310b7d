package sieve

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// comparator is one of RFC 4790's (and RFC 5051's) comparators.
type comparator int

const (
	cmpOctet comparator = iota
	cmpASCIICasemap
	cmpASCIINumeric
	cmpUnicodeCasemap
)

var comparators = map[string]comparator{
	"i;octet":           cmpOctet,
	"i;ascii-casemap":   cmpASCIICasemap,
	"i;ascii-numeric":   cmpASCIINumeric,
	"i;unicode-casemap": cmpUnicodeCasemap,
}

type matchType int

const (
	mIs matchType = iota
	mContains
	mMatches
	mCount
	mValue
	mRegex
	mList
)

// matcher is a test's comparator, match type and keys (RFC 5228 §2.7).
type matcher struct {
	cmp  comparator
	mt   matchType
	rel  string // the relational operator of :count and :value (RFC 5231)
	keys []*str
	res  []*regexp.Regexp // keys compiled, for :matches and :regex with constant keys
	// noVars: a success sets no match variables.
	noVars bool
}

var relOps = map[string]bool{"gt": true, "ge": true, "lt": true, "le": true, "eq": true, "ne": true}

// newMatcher reads a test's match arguments (keys are the key list).
func (c *checker) newMatcher(n *node, keys *argument) *matcher {
	m := &matcher{cmp: cmpASCIICasemap, mt: mIs}
	if a, ok := n.tag("comparator"); ok {
		name := a.str()
		cm, known := comparators[name]
		if !known || cm == cmpASCIINumeric && !c.required["comparator-"+name] {
			c.errorf(a.pos, "unknown comparator '"+name+"'")
			return nil
		}
		m.cmp = cm
	}
	for tag, mt := range map[string]matchType{"is": mIs, "contains": mContains, "matches": mMatches, "count": mCount, "value": mValue, "regex": mRegex, "list": mList} {
		a, ok := n.tag(tag)
		if !ok {
			continue
		}
		m.mt = mt
		if mt == mCount || mt == mValue {
			m.rel = strings.ToLower(a.str())
			if !relOps[m.rel] {
				c.errorf(a.pos, "invalid relational match type '"+a.str()+"'")
				return nil
			}
		}
	}
	if m.cmp == cmpASCIINumeric && (m.mt == mContains || m.mt == mMatches || m.mt == mRegex) {
		c.errorf(n.pos, "the comparator 'i;ascii-numeric' does not support the requested match type")
		return nil
	}
	if keys != nil {
		m.keys = c.strs(keys)
		if !c.compileKeys(m, keys.pos) {
			return nil
		}
	}
	return m
}

// compileKeys precompiles constant :matches and :regex keys.
func (c *checker) compileKeys(m *matcher, at pos) bool {
	if m.mt != mMatches && m.mt != mRegex {
		return true
	}
	m.res = make([]*regexp.Regexp, len(m.keys))
	for i, k := range m.keys {
		if k.dyn {
			continue
		}
		re, err := m.compile(k.s)
		if err != nil {
			c.errorf(at, "invalid regular expression '"+k.s+"' for regex match: "+err.Error())
			return false
		}
		m.res[i] = re
	}
	return true
}

func (m *matcher) compile(key string) (*regexp.Regexp, error) {
	var src string
	if m.mt == mRegex {
		src = key
	} else {
		src = globToRegexp(key)
	}
	if m.cmp == cmpASCIICasemap || m.cmp == cmpUnicodeCasemap {
		src = "(?i)" + src
	}
	return regexp.Compile(src)
}

// globToRegexp turns a :matches pattern (RFC 5228 §2.7.1: "*", "?" and
// "\" escapes) into an anchored regexp whose groups are the wildcards,
// each "*" matching as little as possible (RFC 5229 §3.2).
func globToRegexp(p string) string {
	var b strings.Builder
	b.WriteString("(?s)^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString("(.*?)")
		case '?':
			b.WriteString("(.)")
		case '\\':
			if i+1 < len(p) {
				i++
			}
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return b.String()
}

// match tests values against the keys; on a :matches or :regex success
// it sets the match variables (RFC 5229 §3.2).
func (m *matcher) match(x *exec, values []string) (bool, error) {
	n := x.cur
	if m.mt == mList {
		return m.matchList(x, values)
	}
	if m.mt == mCount {
		n := strconv.Itoa(len(values))
		for _, k := range m.keys {
			if relational(m.rel, compareNumeric(n, x.expand(k))) {
				return true, nil
			}
		}
		return false, nil
	}
	for _, v := range values {
		for i, k := range m.keys {
			if ok, err := m.one(x, n, v, k, i); ok || err != nil {
				return ok, err
			}
		}
	}
	return false, nil
}

func (m *matcher) one(x *exec, n *node, v string, k *str, i int) (bool, error) {
	if err := x.step(); err != nil {
		return false, err
	}
	switch m.mt {
	case mIs:
		return m.compare(v, x.expand(k)) == 0, nil
	case mContains:
		return m.contains(v, x.expand(k)), nil
	case mValue:
		return relational(m.rel, m.compare(v, x.expand(k))), nil
	}
	if m.mt == mMatches {
		if key := x.expand(k); globable(m.cmp, key, v) {
			return m.glob(x, key, v)
		}
	}
	var re *regexp.Regexp
	if i < len(m.res) {
		re = m.res[i]
	}
	if re == nil {
		var err error
		key := x.expand(k)
		if re, err = x.regexp(m, key); err != nil {
			x.warn(n, "invalid regular expression '"+key+"': "+err.Error())
			return false, nil
		}
	}
	if len(v)*len(re.String()) > maxMatchCost {
		return false, errors.New("sieve: regular expression match too expensive")
	}
	if !x.prog.required["variables"] || m.noVars {
		return re.MatchString(v), nil
	}
	sub := re.FindStringSubmatch(v)
	if sub == nil {
		return false, nil
	}
	x.setMatch(sub)
	return true, nil
}

// glob is a :matches match of ASCII strings, without a regexp.
func (m *matcher) glob(x *exec, key, v string) (bool, error) {
	fold := m.cmp != cmpOctet
	if len(v)*globCost(key, fold) > maxMatchCost {
		return false, errors.New("sieve: regular expression match too expensive")
	}
	var ok bool
	x.globCaps, ok = globMatch(key, v, fold, x.globCaps)
	if !ok {
		return false, nil
	}
	if x.prog.required["variables"] && !m.noVars {
		x.matchVars = append(x.matchVars[:0], v)
		for j := 0; j < len(x.globCaps); j += 2 {
			x.matchVars = append(x.matchVars, v[x.globCaps[j]:x.globCaps[j+1]])
		}
	}
	return true, nil
}

func relational(op string, c int) bool {
	switch op {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "eq":
		return c == 0
	}
	return c != 0
}

func (m *matcher) compare(a, b string) int {
	switch m.cmp {
	case cmpOctet:
		return strings.Compare(a, b)
	case cmpASCIICasemap:
		return compareFold(a, b)
	case cmpUnicodeCasemap:
		if isASCII(a) && isASCII(b) {
			return compareFold(a, b) // RFC 5051's folding is ASCII's on ASCII
		}
		return strings.Compare(unicodeFold(a), unicodeFold(b))
	}
	return compareNumeric(a, b)
}

func (m *matcher) contains(v, k string) bool {
	switch m.cmp {
	case cmpASCIICasemap:
		return containsFold(v, k)
	case cmpUnicodeCasemap:
		if isASCII(v) && isASCII(k) {
			return containsFold(v, k)
		}
		return strings.Contains(unicodeFold(v), unicodeFold(k))
	}
	return strings.Contains(v, k)
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// unicodeFold is RFC 5051's i;unicode-casemap key: case folded, then
// decomposed (NFKD).
func unicodeFold(s string) string {
	return norm.NFKD.String(cases.Fold().String(s))
}

// compareNumeric is i;ascii-numeric (RFC 4790 §9.1): the leading digits
// as a number, a string without them being positive infinity.
func compareNumeric(a, b string) int {
	da, db := leadingDigits(a), leadingDigits(b)
	switch {
	case da == "" && db == "":
		return 0
	case da == "":
		return 1
	case db == "":
		return -1
	}
	da, db = strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
	if len(da) != len(db) {
		if len(da) < len(db) {
			return -1
		}
		return 1
	}
	return strings.Compare(da, db)
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return ""
	}
	if strings.Trim(s[:i], "0") == "" {
		return "0"
	}
	return s[:i]
}
