package sieve

import (
	"context"
	"strings"
)

// The environment (RFC 5183), mailbox (RFC 5490 §3), ihave (RFC 5463),
// spamtest and virustest (RFC 5235) extensions.

func environmentSpecs() []*spec {
	return []*spec{{name: "environment", test: true, match: true, pos: []posArg{{pString, "name"}, {pList, "key list"}},
		check: checkEnvironment, run: runEnvironment}}
}

func checkEnvironment(c *checker, n *node) {
	n.data = c.str1(n.pargs[0])
	n.mt = c.newMatcher(n, n.pargs[1])
}

func (x *exec) environment(name string) string {
	v, _ := x.envItem(name)
	return v
}

func (x *exec) envItem(name string) (string, bool) {
	name = strings.ToLower(name)
	v, ok := x.in.Environment[name]
	return v, ok
}

func runEnvironment(x *exec, n *node) (bool, error) {
	v, ok := x.envItem(x.expand(n.data.(*str)))
	if !ok {
		return false, nil
	}
	return n.mt.match(x, []string{v})
}

func mailboxSpecs() []*spec {
	return []*spec{{name: "mailboxexists", test: true, pos: []posArg{{pList, "mailbox names"}},
		check: func(c *checker, n *node) { n.data = c.strs(n.pargs[0]) }, run: runMailboxExists}}
}

func runMailboxExists(x *exec, n *node) (bool, error) {
	if x.in.Mailboxes == nil {
		return false, nil
	}
	for _, m := range x.expandList(n.data.([]*str)) {
		if !x.in.Mailboxes.Exists(x.ctx, m) {
			return false, nil
		}
	}
	return true, nil
}

func ihaveSpecs() []*spec {
	return []*spec{
		{name: "ihave", test: true, pos: []posArg{{pList, "capabilities"}}, check: checkIhave, run: runIhave},
		{name: "error", pos: []posArg{{pString, "message"}}, check: checkReason, run: runError},
	}
}

// checkIhave: the capabilities ihave finds are usable in the rest of the
// script (RFC 5463 §4); unknown ones make the test false.
func checkIhave(c *checker, n *node) {
	ok := true
	for _, s := range n.pargs[0].strs {
		// encoded-character and variables change how strings are read,
		// which a test at run time cannot do (Pigeonhole refuses them).
		if (s == "encoded-character" || s == "variables") && !c.required[s] {
			ok = false
			continue
		}
		if _, known := c.reg.exts[s]; known && s != "" && (c.allowed == nil || c.allowed[s]) {
			c.require(n.pargs[0].pos, s)
		} else {
			ok = false
		}
	}
	n.data = ok
}

func runIhave(x *exec, n *node) (bool, error) { return n.data.(bool), nil }

func runError(x *exec, n *node) (bool, error) {
	return false, runtimeErr(n, "error command: "+x.expand(n.data.(*str)))
}

func spamtestSpecs() []*spec {
	tags := []tagSpec{{name: "percent", ext: "spamtestplus"}}
	return []*spec{{name: "spamtest", test: true, match: true, tags: tags, pos: []posArg{{pString, "value"}},
		check: checkSpamtest, run: runSpamtest}}
}

func checkSpamtest(c *checker, n *node) {
	n.mt = c.newMatcher(n, n.pargs[0])
	if n.mt != nil {
		if _, ok := n.tag("comparator"); !ok {
			n.mt.cmp = cmpASCIINumeric
		}
	}
}

// runSpamtest: the value is 0 when no check ran, else 1 (ham) to 10
// (spam), or with :percent 0 to 100 (RFC 5235 §3.2, §3.3).
func runSpamtest(x *exec, n *node) (bool, error) {
	p := x.in.SpamPercent
	v := "0"
	if _, pct := n.tag("percent"); pct {
		if p >= 0 {
			v = itoa(p)
		}
	} else if p >= 0 {
		v = itoa(1 + min(p, 100)*9/100)
	}
	return n.mt.match(x, []string{v})
}

func virustestSpecs() []*spec {
	return []*spec{{name: "virustest", test: true, match: true, pos: []posArg{{pString, "value"}}, check: checkSpamtest,
		run: func(x *exec, n *node) (bool, error) { return n.mt.match(x, []string{itoa(x.in.Virus)}) }}}
}

var _ = context.Background
