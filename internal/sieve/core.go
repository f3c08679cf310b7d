package sieve

import "strings"

// The commands and tests of RFC 5228 itself.
func coreExtension() *extension {
	return &extension{name: "", specs: []*spec{
		{name: "require", pos: []posArg{{pList, "capabilities"}}, check: checkRequire, run: runNothing},
		{name: "if", tests: 1, block: true},
		{name: "elsif", tests: 1, block: true, check: checkElse},
		{name: "else", block: true, check: checkElse},
		{name: "stop", run: func(*exec, *node) (bool, error) { return false, errStop }},
		{name: "keep", tags: flagTags(), check: checkFlagsTag, run: runKeep},
		{name: "discard", run: runDiscard},
		{name: "redirect", tags: []tagSpec{{name: "copy", ext: "copy"}, {name: "list", param: pString, ext: "extlists"}},
			pos: []posArg{{pString, "address"}}, check: checkRedirect, run: runRedirect},
		{name: "true", test: true, run: func(*exec, *node) (bool, error) { return true, nil }},
		{name: "false", test: true, run: func(*exec, *node) (bool, error) { return false, nil }},
		{name: "not", test: true, tests: 1, run: runNot},
		{name: "allof", test: true, tests: -1, run: runAllof},
		{name: "anyof", test: true, tests: -1, run: runAnyof},
		{name: "exists", test: true, tags: indexTags()[2:4], pos: []posArg{{pList, "header names"}}, check: checkHeaderNames, run: runExists},
		{name: "header", test: true, match: true, tags: indexTags(), pos: []posArg{{pList, "header names"}, {pList, "key list"}},
			check: checkHeader, run: runHeader},
		{name: "address", test: true, match: true, addr: true, tags: indexTags(), pos: []posArg{{pList, "header list"}, {pList, "key list"}},
			check: checkAddress, run: runAddress},
		{name: "size", test: true, tags: []tagSpec{{name: "over", group: "size"}, {name: "under", group: "size"}},
			pos: []posArg{{pNumber, "limit"}}, check: checkSize, run: runSize},
	}}
}

func runNothing(*exec, *node) (bool, error) { return true, nil }

func checkRequire(c *checker, n *node) {
	for _, s := range n.pargs[0].strs {
		c.require(n.pargs[0].pos, s)
	}
}

func checkElse(c *checker, n *node) {
	if c.prev == nil || c.prev.name != "if" && c.prev.name != "elsif" {
		c.errorf(n.pos, "the "+n.name+" command must follow an if or elseif command")
	}
}

func runNot(x *exec, n *node) (bool, error) {
	ok, err := x.test(n.tests[0])
	return !ok, err
}

func runAllof(x *exec, n *node) (bool, error) {
	for _, t := range n.tests {
		if ok, err := x.test(t); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

func runAnyof(x *exec, n *node) (bool, error) {
	for _, t := range n.tests {
		if ok, err := x.test(t); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// headerData is the precompiled form of a test on header fields.
type headerData struct {
	names []*str
	fixed []string // the names when none holds a variable
	index int      // RFC 5260 §6 :index (0: all), negative with :last
}

func checkHeaderNames(c *checker, n *node) {
	c.checkMimeTags(n)
	d := &headerData{names: c.strs(n.pargs[0])}
	d.fixed = fixedStrs(d.names)
	n.data = d
}

// validFieldName: RFC 5322 §3.6.8 ftext.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 32 || s[i] >= 127 || s[i] == ':' {
			return false
		}
	}
	return true
}

func indexTags() []tagSpec {
	return []tagSpec{{name: "index", param: pNumber, ext: "index"}, {name: "last", ext: "index"},
		{name: "mime", ext: "mime"}, {name: "anychild", ext: "mime"},
		{name: "type", ext: "mime", group: "mime-part"}, {name: "subtype", ext: "mime", group: "mime-part"},
		{name: "contenttype", ext: "mime", group: "mime-part"}, {name: "param", param: pList, ext: "mime", group: "mime-part"}}
}

func (c *checker) index(n *node, d *headerData) bool {
	a, ok := n.tag("index")
	if _, last := n.tag("last"); last {
		if !ok {
			c.errorf(n.tagAt["last"], "the :last tag for the "+n.name+" test cannot be specified without the :index tag")
			return false
		}
	}
	if ok {
		if a.num == 0 {
			c.errorf(a.pos, "the :index tag for the "+n.name+" test requires a non-zero value")
		}
		d.index = int(min(a.num, 1<<30))
		if _, last := n.tag("last"); last {
			d.index = -d.index
		}
	}
	return true
}

func checkHeader(c *checker, n *node) {
	checkHeaderNames(c, n)
	c.index(n, n.data.(*headerData))
	n.mt = c.newMatcher(n, n.pargs[1])
}

func runExists(x *exec, n *node) (bool, error) {
	// Each name must be in some part (RFC 5703 §4.3 :anychild).
	parts := x.mimeFields(n)
	for _, name := range x.expandList(n.data.(*headerData).names) {
		found := false
		for _, fs := range parts {
			if len(fieldValues(fs, []string{name})) > 0 {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

func pickIndex[T any](vals []T, idx int) []T {
	switch {
	case idx == 0:
		return vals
	case idx > 0 && idx <= len(vals):
		return vals[idx-1 : idx]
	case idx < 0 && -idx <= len(vals):
		i := len(vals) + idx
		return vals[i : i+1]
	}
	return nil
}

func runHeader(x *exec, n *node) (bool, error) {
	d := n.data.(*headerData)
	if !hasTag(n, "mime") {
		x.valBuf = x.valBuf[:0]
		for _, f := range x.namedFields(x.fields(), d) {
			x.valBuf = append(x.valBuf, f.decoded())
		}
		return n.mt.match(x, x.valBuf)
	}
	var vals []string
	for _, fs := range x.mimeFields(n) {
		vals = append(vals, pickIndex(fieldValues(fs, x.expandList(d.names)), d.index)...)
	}
	return n.mt.match(x, mimeValues(n, vals))
}

// address headers: the RFC 5322 fields that hold addresses (RFC 5228
// §5.1 allows only those).
var addressHeaders = map[string]bool{
	"from": true, "sender": true, "reply-to": true, "to": true, "cc": true, "bcc": true,
	"resent-from": true, "resent-sender": true, "resent-to": true, "resent-cc": true, "resent-bcc": true,
	"return-path": true, "disposition-notification-to": true, "delivered-to": true, "x-original-to": true,
	"envelope-to": true, "original-recipient": true, "x-envelope-to": true, "errors-to": true,
	"mail-followup-to": true, "mail-reply-to": true, "x-beenthere": true, "x-complaints-to": true, "list-post": true,
}

func checkAddress(c *checker, n *node) {
	checkHeaderNames(c, n)
	d := n.data.(*headerData)
	for _, s := range d.names {
		if !s.dyn && !addressHeaders[strings.ToLower(s.s)] {
			c.errorf(n.pargs[0].pos, "specified header '"+s.s+"' is not allowed for the address test")
		}
	}
	c.index(n, d)
	n.ap = c.addressPart(n)
	n.mt = c.newMatcher(n, n.pargs[1])
}

func runAddress(x *exec, n *node) (bool, error) {
	d := n.data.(*headerData)
	if !hasTag(n, "mime") {
		x.addrBuf = x.addrBuf[:0]
		for _, f := range x.namedFields(x.fields(), d) {
			x.addrBuf = append(x.addrBuf, f.addresses()...)
		}
		return x.matchAddresses(n, x.addrBuf)
	}
	var addrs []string
	for _, fs := range x.mimeFields(n) {
		for _, v := range pickIndex(fieldValues(fs, x.expandList(d.names)), d.index) {
			addrs = append(addrs, parseAddresses(v)...)
		}
	}
	return x.matchAddresses(n, addrs)
}

func (x *exec) matchAddresses(n *node, addrs []string) (bool, error) {
	parts := x.partBuf[:0]
	sep := x.detailSep()
	for _, a := range addrs {
		if p, ok := n.ap.part(a, sep); ok {
			parts = append(parts, p)
		}
	}
	x.partBuf = parts
	return n.mt.match(x, parts)
}

func (x *exec) detailSep() string {
	for _, k := range []string{"recipient_delimiter", "sieve_subaddress_sep"} {
		if s, ok := x.hookConfig(k); ok {
			return s
		}
	}
	return "+"
}

func checkSize(c *checker, n *node) {
	_, over := n.tag("over")
	_, under := n.tag("under")
	if !over && !under {
		c.errorf(n.pos, "the size test requires either the :under or the :over tag")
	}
}

func runSize(x *exec, n *node) (bool, error) {
	lim := n.pargs[0].num
	size := x.size()
	if _, over := n.tag("over"); over {
		return size > lim, nil
	}
	return size < lim, nil
}

// envelope (RFC 5228 §5.4).
func envelopeSpecs() []*spec {
	return []*spec{{name: "envelope", test: true, match: true, addr: true, pos: []posArg{{pList, "envelope part"}, {pList, "key list"}},
		check: checkEnvelope, run: runEnvelope}}
}

func checkEnvelope(c *checker, n *node) {
	d := &headerData{names: c.strs(n.pargs[0])}
	for _, s := range d.names {
		switch strings.ToLower(s.s) {
		case "from", "to", "auth":
		default:
			if !s.dyn {
				c.errorf(n.pargs[0].pos, "specified envelope part '"+s.s+"' is not supported by the envelope test")
			}
		}
	}
	n.data = d
	n.ap = c.addressPart(n)
	n.mt = c.newMatcher(n, n.pargs[1])
}

func runEnvelope(x *exec, n *node) (bool, error) {
	var addrs []string
	for _, p := range x.expandList(n.data.(*headerData).names) {
		var v string
		switch strings.ToLower(p) {
		case "from":
			v = x.in.Envelope.From
		case "to":
			v = x.in.Envelope.To
		case "auth":
			v = x.in.Envelope.Auth
			if v == "" {
				continue
			}
		default:
			continue
		}
		if v == "" {
			addrs = append(addrs, "") // the null reverse-path (RFC 5228 §5.4)
			continue
		}
		if strings.EqualFold(p, "auth") {
			addrs = append(addrs, v)
		} else if a, ok := parsePath(v); ok {
			addrs = append(addrs, a) // a syntactically invalid path matches nothing
		}
	}
	return x.matchAddresses(n, addrs)
}

// parsePath reads an SMTP path (RFC 5321 §4.1.2), with or without its
// angle brackets, dropping a source route; ok is false when invalid. A
// bare local part (postmaster, MAILER-DAEMON) is accepted.
func parsePath(v string) (string, bool) {
	if strings.HasPrefix(v, "<") != strings.HasSuffix(v, ">") {
		return "", false
	}
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	if strings.ContainsAny(v, "<> \t") {
		return "", false
	}
	if strings.HasPrefix(v, "@") {
		i := strings.IndexByte(v, ':')
		if i < 0 {
			return "", false
		}
		for _, hop := range strings.Split(v[:i], ",") {
			if !strings.HasPrefix(hop, "@") || !validDomain(hop[1:]) {
				return "", false
			}
		}
		v = v[i+1:]
	}
	if v == "" {
		return "", true
	}
	local, domain, at := strings.Cut(v, "@")
	if local == "" || strings.ContainsAny(local, ":,") || at && !validDomain(domain) {
		return "", false
	}
	return v, true
}

// validDomain: dot-separated labels of letters, digits and hyphens.
func validDomain(d string) bool {
	if d == "" {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !isAlpha(c) && !isDigit(c) && c != '-' {
				return false
			}
		}
	}
	return true
}
