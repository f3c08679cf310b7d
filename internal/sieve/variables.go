package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The variables extension (RFC 5229).

// maxVariables and maxMatchIndex are Pigeonhole's limits on the
// variables a script declares and the match variables it names.
const (
	maxVariables  = 255
	maxVarNameLen = 64
	maxMatchIndex = 32
)

func setModifiers() []tagSpec {
	return []tagSpec{
		{name: "lower", group: "40"}, {name: "upper", group: "40"},
		{name: "lowerfirst", group: "30"}, {name: "upperfirst", group: "30"},
		{name: "quotewildcard", group: "20"}, {name: "quoteregex", group: "20", ext: "regex"},
		{name: "encodeurl", group: "15", ext: "enotify"},
		{name: "length", group: "10"},
	}
}

func variablesSpecs() []*spec {
	return []*spec{
		{name: "set", tags: setModifiers(), pos: []posArg{{pString, "name"}, {pString, "value"}}, check: checkSet, run: runSet},
		{name: "string", test: true, match: true, pos: []posArg{{pList, "source"}, {pList, "key list"}}, check: checkString, run: runString},
	}
}

type setData struct {
	name  string
	value *str
	mods  []string
}

// modifier order: RFC 5229 §4.1 applies higher precedence first.
var modifierOrder = []string{"lower", "upper", "lowerfirst", "upperfirst", "quotewildcard", "quoteregex", "encodeurl", "length"}

func checkSet(c *checker, n *node) {
	d := &setData{name: n.pargs[0].str(), value: c.str1(n.pargs[1])}
	if !validVarName(d.name, false) {
		c.errorf(n.pargs[0].pos, "invalid variable name '"+d.name+"'")
	} else if len(d.name) > maxVarNameLen {
		c.errorf(n.pargs[0].pos, "variable name '"+d.name[:maxVarNameLen]+"...' is longer than "+itoa(maxVarNameLen)+" characters")
	} else if ns, _, ok := strings.Cut(d.name, "."); ok && !c.knownNamespace(ns) {
		c.errorf(n.pargs[0].pos, "variable name '"+d.name+"' refers to an unknown namespace '"+ns+"'")
	}
	for _, m := range modifierOrder {
		if _, ok := n.tag(m); ok {
			d.mods = append(d.mods, m)
		}
	}
	if c.locals == nil {
		c.locals = map[string]bool{}
	}
	if !c.globals[strings.ToLower(d.name)] && !c.locals[strings.ToLower(d.name)] {
		c.locals[strings.ToLower(d.name)] = true
		if len(c.locals) == maxVariables+1 {
			c.errorf(n.pos, "the script declares more than "+itoa(maxVariables)+" variables")
		}
	}
	n.data = d
}

// validVarName: identifier ("." identifier)* (RFC 5229 §3); match
// variables (digits) are not settable.
func validVarName(s string, allowNum bool) bool {
	if s == "" {
		return false
	}
	if isDigit(s[0]) {
		if !allowNum {
			return false
		}
		for i := 0; i < len(s); i++ {
			if !isDigit(s[i]) {
				return false
			}
		}
		return true
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || !isAlpha(part[0]) {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !isAlpha(part[i]) && !isDigit(part[i]) {
				return false
			}
		}
	}
	return true
}

func runSet(x *exec, n *node) (bool, error) {
	d := n.data.(*setData)
	v := x.expand(d.value)
	unit := runeUnit
	for _, m := range d.mods {
		v = applyModifier(m, v)
		switch m {
		case "quotewildcard":
			unit = quoteUnit
		case "encodeurl":
			unit = percentUnit
		case "length":
			unit = runeUnit
		}
	}
	x.setVarUnits(d.name, v, unit)
	return true, nil
}

// runeUnit, quoteUnit and percentUnit are the lengths of the units a
// value is cut between when it exceeds Limits.VariableSize: a UTF-8
// character, and also a "\" escape of :quotewildcard or a "%XX" one of
// :encodeurl, which a cut must not split.
func runeUnit(s string, i int) int {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

func quoteUnit(s string, i int) int {
	if s[i] == '\\' && i+1 < len(s) {
		return 1 + runeUnit(s, i+1)
	}
	return runeUnit(s, i)
}

// percentUnit: "%XX", or the "%XX" of each byte of an encoded UTF-8
// character.
func percentUnit(s string, i int) int {
	if s[i] != '%' || i+2 >= len(s) {
		return runeUnit(s, i)
	}
	lead, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
	n := 1
	switch {
	case err != nil:
	case lead >= 0xf0:
		n = 4
	case lead >= 0xe0:
		n = 3
	case lead >= 0xc0:
		n = 2
	}
	return min(3*n, len(s)-i)
}

func (x *exec) setVar(name, v string) { x.setVarUnits(name, v, runeUnit) }

// setVarUnits sets a variable, its value cut to Limits.VariableSize
// between two units (RFC 5229 §3 lets an implementation limit it).
func (x *exec) setVarUnits(name, v string, unit func(string, int) int) {
	max := x.limits.VariableSize
	if max <= 0 {
		max = DefaultVariableSize
	}
	if len(v) > max {
		v = truncUnits(v, max, unit)
	}
	name = strings.ToLower(name)
	if strings.HasPrefix(name, "global.") && x.global == nil {
		x.global = map[string]string{} // RFC 6609 §3.5: the global namespace needs no declaration
	}
	if x.global != nil && x.isGlobal(name) {
		x.global[strings.TrimPrefix(name, "global.")] = v
		return
	}
	x.vars[name] = v
}

// truncUnits is the longest prefix of s of whole units, at most max
// bytes.
func truncUnits(s string, max int, unit func(string, int) int) string {
	i := 0
	for i < len(s) {
		n := unit(s, i)
		if i+n > max {
			break
		}
		i += n
	}
	return s[:i]
}

func applyModifier(m, v string) string {
	switch m {
	case "lower":
		return strings.ToLower(v)
	case "upper":
		return strings.ToUpper(v)
	case "lowerfirst", "upperfirst":
		r, size := utf8.DecodeRuneInString(v)
		if size == 0 {
			return v
		}
		if m == "lowerfirst" {
			return strings.ToLower(string(r)) + v[size:]
		}
		return strings.ToUpper(string(r)) + v[size:]
	case "quotewildcard":
		return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(v)
	case "quoteregex":
		return quoteRegex(v)
	case "encodeurl":
		return encodeURL(v)
	case "length":
		return strconv.Itoa(utf8.RuneCountInString(v))
	}
	return v
}

func quoteRegex(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(`\.+*?[^]$(){}|=!:-/`, v[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// encodeURL percent-encodes all but RFC 3986 unreserved characters
// (RFC 5435 §4.1).
func encodeURL(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isAlpha(c) && c != '_' || isDigit(c) || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

func checkString(c *checker, n *node) {
	n.data = c.strs(n.pargs[0])
	n.mt = c.newMatcher(n, n.pargs[1])
}

func runString(x *exec, n *node) (bool, error) {
	vals := x.expandList(n.data.([]*str))
	if n.mt.mt == mCount {
		// RFC 5229 §5: empty strings are not counted.
		kept := vals[:0]
		for _, v := range vals {
			if v != "" {
				kept = append(kept, v)
			}
		}
		vals = kept
	}
	return n.mt.match(x, vals)
}

// expandString substitutes ${name} and ${N} references (RFC 5229 §3);
// unknown namespaces and malformed references stay as written.
func (x *exec) expandString(s string) string {
	return substitute(s, x.lookupVar)
}

// substitute replaces each "${inner}" of s by f(inner) when f accepts it.
func substitute(s string, f func(inner string) (string, bool)) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		v, ok := f(s[i+2 : i+2+j])
		if !ok {
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+3+j:]
	}
}

func (x *exec) lookupVar(name string) (string, bool) {
	if !validVarName(name, true) {
		return "", false
	}
	if isDigit(name[0]) {
		n, err := strconv.Atoi(name)
		if err != nil || n >= len(x.matchVars) {
			return "", true
		}
		return x.matchVars[n], true
	}
	lname := strings.ToLower(name)
	if ns, rest, ok := strings.Cut(lname, "."); ok {
		switch {
		case ns == "env" && x.prog.required["environment"]:
			return x.environment(rest), true
		case ns == "global" && x.global != nil:
			return x.global[rest], true
		}
		if v, ok := x.vars[lname]; ok {
			return v, true
		}
		return "", false
	}
	if x.global != nil && x.isGlobal(lname) {
		return x.global[lname], true
	}
	return x.vars[lname], true
}

func (x *exec) isGlobal(name string) bool {
	if strings.HasPrefix(name, "global.") {
		return true
	}
	_, ok := x.globalNames()[name]
	return ok
}

// knownNamespace: the variable namespaces this package has (RFC 5229
// §3: others are errors).
func (c *checker) knownNamespace(ns string) bool {
	switch strings.ToLower(ns) {
	case "env":
		return c.required["environment"]
	case "global":
		return c.required["include"]
	case "tst": // the suite's namespace (vnd.dovecot.testsuite)
		return c.required["vnd.dovecot.testsuite"]
	}
	return false
}

// checkReferences reports references to unknown namespaces in s.
func (c *checker) checkReferences(at pos, s string) {
	substitute(s, func(inner string) (string, bool) {
		if validVarName(inner, true) && isDigit(inner[0]) {
			if n, err := strconv.Atoi(inner); err != nil || n > maxMatchIndex {
				c.errorf(at, "match value index ${"+inner+"} is out of range (max "+itoa(maxMatchIndex)+")")
			}
		}
		if validVarName(inner, false) {
			if ns, _, ok := strings.Cut(inner, "."); ok && !c.knownNamespace(ns) {
				c.errorf(at, "variable reference '${"+inner+"}' refers to an unknown namespace '"+ns+"'")
			}
		}
		return "", false
	})
}
