package sieve

import (
	"regexp"
	"strings"
)

// The imap4flags extension (RFC 5232).

func imap4flagsSpecs() []*spec {
	pos := []posArg{{pString, "variable name"}, {pList, "list of flags"}}
	return []*spec{
		{name: "setflag", pos: pos, opt: 1, check: checkFlagCmd, run: runFlagCmd},
		{name: "addflag", pos: pos, opt: 1, check: checkFlagCmd, run: runFlagCmd},
		{name: "removeflag", pos: pos, opt: 1, check: checkFlagCmd, run: runFlagCmd},
		{name: "hasflag", test: true, match: true, pos: []posArg{{pList, "variable list"}, {pList, "list of flags"}}, opt: 1,
			check: checkHasflag, run: runHasflag},
	}
}

type flagCmd struct {
	variable string // "" for the internal variable
	flags    []*str
}

func checkFlagCmd(c *checker, n *node) {
	d := &flagCmd{flags: c.strs(n.pargs[1])}
	if n.pargs[0] != nil {
		if !c.required["variables"] {
			c.errorf(n.pargs[0].pos, "the "+n.name+" command takes a variable name only with the variables extension")
		}
		d.variable = n.pargs[0].str()
		if !validVarName(d.variable, false) {
			c.errorf(n.pargs[0].pos, "invalid variable name '"+d.variable+"'")
		}
	}
	n.data = d
}

// normalizeFlags splits space-separated flags and removes duplicates
// (RFC 5232 §3).
func normalizeFlags(l []string) []string {
	var out []string
	for _, s := range l {
		for _, f := range strings.Fields(s) {
			if !hasFlag(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

func (x *exec) getFlags(variable string) []string {
	if variable == "" {
		return x.flags
	}
	v, _ := x.lookupVar(variable)
	return normalizeFlags([]string{v})
}

func (x *exec) putFlags(variable string, f []string) {
	if variable == "" {
		x.flags = f
		return
	}
	x.setVar(variable, strings.Join(f, " "))
}

func runFlagCmd(x *exec, n *node) (bool, error) {
	d := n.data.(*flagCmd)
	arg := normalizeFlags(x.expandList(d.flags))
	cur := x.getFlags(d.variable)
	switch n.name {
	case "setflag":
		cur = arg
	case "addflag":
		cur = unionFlags(cur, arg)
	case "removeflag":
		var kept []string
		for _, f := range cur {
			if !hasFlag(arg, f) {
				kept = append(kept, f)
			}
		}
		cur = kept
	}
	x.putFlags(d.variable, cur)
	return true, nil
}

type hasflagData struct {
	vars []*str
}

func checkHasflag(c *checker, n *node) {
	d := &hasflagData{}
	if n.pargs[0] != nil {
		d.vars = c.strs(n.pargs[0])
	}
	n.data = d
	n.mt = c.newMatcher(n, n.pargs[1])
}

func runHasflag(x *exec, n *node) (bool, error) {
	d := n.data.(*hasflagData)
	var cur []string
	if d.vars == nil {
		cur = x.flags
	} else {
		for _, v := range x.expandList(d.vars) {
			cur = unionFlags(cur, x.getFlags(v))
		}
	}
	// The keys are flag lists too (RFC 5232 §4 example: "b A").
	m := *n.mt
	m.keys, m.res = nil, nil
	for _, k := range normalizeFlags(x.expandList(n.mt.keys)) {
		m.keys = append(m.keys, &str{s: k})
	}
	m.res = make([]*regexp.Regexp, len(m.keys))
	return m.match(x, cur)
}
