package sieve

// checker runs the compile-time checks of RFC 5228 §2.6, §3.2 and each
// extension's, and fills in each node's parsed arguments.
type checker struct {
	reg      *registry
	opts     *CompileOptions
	allowed  map[string]bool // nil: every extension
	required map[string]bool
	errs     ErrorList
	warns    ErrorList
	prog     *program
	// state of the walk
	seenOther bool // a command other than require was seen
	prev      *node
	incl      *includeState
	loops     []string        // names of the enclosing foreverypart loops
	locals    map[string]bool // variables set as local ones
	globals   map[string]bool // variables declared global
	loopsNode []*node
	loopDepth int
	// unknownTags are the unknown tags already reported, by command:
	// each is reported once, at its first occurrence.
	unknownTags map[string]bool
}

func (c *checker) errorf(at pos, msg string) {
	c.errs = append(c.errs, &Error{Line: at.line, Column: at.col, Msg: msg})
}

func (c *checker) warnf(at pos, msg string) {
	c.warns = append(c.warns, &Error{Line: at.line, Column: at.col, Msg: msg, Warning: true})
}

// unknownTag reports a tag s does not know, once per command and tag.
func (c *checker) unknownTag(s *spec, a *argument) {
	k := s.name + " " + s.kind() + ":" + a.tag
	if c.unknownTags[k] {
		return
	}
	if c.unknownTags == nil {
		c.unknownTags = map[string]bool{}
	}
	c.unknownTags[k] = true
	c.errorf(a.pos, "unknown tagged argument ':"+a.tag+"' for the "+s.name+" "+s.kind()+" (reported only once at first occurrence)")
}

func (c *checker) has(ext string) bool { return ext == "" || c.required[ext] }

// require marks an extension as required (RFC 5228 §3.2).
func (c *checker) require(at pos, name string) {
	e, ok := c.reg.exts[name]
	if !ok || name == "" || c.allowed != nil && !c.allowed[name] && !isTestExt(name) {
		c.errorf(at, "require command: unknown Sieve capability '"+name+"'")
		return
	}
	c.required[name] = true
	for _, i := range e.implies {
		c.required[i] = true
	}
}

func isTestExt(name string) bool {
	return name == "vnd.dovecot.testsuite" || name == "vnd.dovecot.debug"
}

func (c *checker) block(cmds []*node, top bool) {
	c.prev = nil
	for _, n := range cmds {
		c.command(n, top)
		c.prev = n
	}
}

func (c *checker) command(n *node, top bool) {
	s := c.reg.commands[n.name]
	if s == nil || !c.has(s.ext) {
		msg := "unknown command '" + n.name + "'"
		if t := c.reg.tests[n.name]; t != nil && c.has(t.ext) {
			msg += " (this is a test; did you mean to use test '" + n.name + "' in a conditional command?)"
		}
		c.errorf(n.pos, msg)
		return
	}
	if n.name == "require" {
		if !top || c.seenOther {
			c.errorf(n.pos, "require commands can only be placed at top level at the beginning of the file")
			return
		}
	} else {
		c.seenOther = true
	}
	n.spec = s
	c.node(n)
	prev := c.prev
	if s.block && !unknownIhave(n) {
		nl := len(c.loops)
		c.loopDepth++
		c.block(n.block, false)
		c.loopDepth--
		if n.name == "foreverypart" && len(c.loops) > nl-1 && nl > 0 {
			c.loops, c.loopsNode = c.loops[:nl-1], c.loopsNode[:nl-1]
		}
	}
	c.prev = prev
}

// unknownIhave: a block under "if ihave" of a capability this
// implementation lacks is not checked (RFC 5463 §4).
func unknownIhave(n *node) bool {
	if len(n.tests) != 1 || n.tests[0].name != "ihave" {
		return false
	}
	ok, isBool := n.tests[0].data.(bool)
	return isBool && !ok
}

func (c *checker) test(n *node) {
	s := c.reg.tests[n.name]
	if s == nil || !c.has(s.ext) {
		msg := "unknown test '" + n.name + "'"
		if t := c.reg.commands[n.name]; t != nil && c.has(t.ext) {
			msg += " (this is a command; it cannot be used as a test)"
		}
		c.errorf(n.pos, msg)
		return
	}
	n.spec = s
	c.node(n)
}

// node checks the arguments, sub-tests and block of a command or test:
// like Pigeonhole, the first error in the arguments and tests is the
// only one reported for them.
func (c *checker) node(n *node) {
	s := n.spec
	what := "the " + s.name + " " + s.kind()
	ok := false
	if tagsOK, posOK := c.arguments(n, what); tagsOK {
		ok = posOK && c.subtests(n, what)
		if !posOK && s.test && len(n.tests) == 1 && c.isTag(s, n.tests[0].name) {
			c.subtests(n, what) // the missing colon explains the missing arguments
		}
	} else {
		c.subtests(n, what) // Pigeonhole checks these apart from the tags
	}
	subOK := ok
	if !s.test {
		switch {
		case s.block && !n.hasBlock:
			c.errorf(n.pos, what+" requires a command block, but it is missing")
			ok = false
		case !s.block && n.hasBlock:
			c.errorf(n.pos, what+" does not accept a command block, but one is specified")
			ok = false
		}
	}
	if ok && s.check != nil {
		s.check(c, n)
		c.checkLists(n, what)
	}
	if subOK {
		for _, t := range n.tests {
			c.test(t)
		}
	}
}

func (c *checker) subtests(n *node, what string) bool {
	s := n.spec
	switch {
	case s.tests == 0 && len(n.tests) == 1 && !n.testList && !s.test && c.reg.tests[n.tests[0].name] == nil:
		c.errorf(n.pos, "missing semicolon ';' after the "+s.name+" command (found '"+n.tests[0].name+"')")
	case s.tests == 0 && len(n.tests) == 1 && !n.testList && c.isTag(s, n.tests[0].name):
		c.errorf(n.tests[0].pos, "missing colon ':' before ':"+n.tests[0].name+"' tag in the "+s.name+" test")
	case s.tests == 0 && len(n.tests) > 0:
		c.errorf(n.pos, what+" accepts no sub-tests, but tests are specified")
	case s.tests == 1 && len(n.tests) == 0:
		c.errorf(n.pos, what+" requires one test argument, but none is specified")
	case s.tests == 1 && (len(n.tests) != 1 || n.testList):
		c.errorf(n.pos, what+" requires one test argument, but a test list is specified")
	case s.tests == -1 && !n.testList:
		c.errorf(n.pos, what+" requires a list of tests, but a single test or none is specified")
	default:
		return true
	}
	return false
}

func (c *checker) isTag(s *spec, name string) bool {
	_, ok := c.findTag(s, name)
	return ok
}

// findTag finds a tag s takes, with the extension it needs.
func (c *checker) findTag(s *spec, name string) (tagSpec, bool) {
	for _, t := range s.tags {
		if t.name == name && c.has(t.ext) {
			return t, true
		}
	}
	if s.match {
		for _, t := range matchTags {
			if t.name == name && c.has(t.ext) {
				return t, true
			}
		}
	}
	if s.addr {
		for _, t := range addrTags {
			if t.name == name && c.has(t.ext) {
				return t, true
			}
		}
	}
	return tagSpec{}, false
}

var matchTags = []tagSpec{
	{name: "comparator", param: pString, group: "comparator"},
	{name: "is", group: "match"},
	{name: "contains", group: "match"},
	{name: "matches", group: "match"},
	{name: "count", param: pString, ext: "relational", group: "match"},
	{name: "value", param: pString, ext: "relational", group: "match"},
	{name: "regex", ext: "regex", group: "match"},
	{name: "list", ext: "extlists", group: "match"},
}

var addrTags = []tagSpec{
	{name: "all", group: "address-part"},
	{name: "localpart", group: "address-part"},
	{name: "domain", group: "address-part"},
	{name: "user", ext: "subaddress", group: "address-part"},
	{name: "detail", ext: "subaddress", group: "address-part"},
}

// arguments sorts n's arguments into tags and positional ones and checks
// their types (RFC 5228 §2.6).
func (c *checker) arguments(n *node, what string) (tagsOK, posOK bool) {
	s := n.spec
	n.tags = map[string]*argument{}
	n.tagAt = map[string]pos{}
	groups := map[string]string{}
	ok := true
	i := 0
	for ; i < len(n.args) && n.args[i].kind == aTag; i++ {
		a := n.args[i]
		t, found := c.findTag(s, a.tag)
		if !found {
			c.unknownTag(s, a)
			return false, false
		}
		if t.group != "" {
			if g, dup := groups[t.group]; dup {
				c.errorf(a.pos, "multiple "+t.group+" arguments (':"+g+"' and ':"+a.tag+"') specified for the "+s.name+" "+s.kind())
				return false, false
			}
			groups[t.group] = a.tag
		} else if _, dup := n.tags[a.tag]; dup {
			c.errorf(a.pos, "encountered duplicate tag ':"+a.tag+"' for the "+s.name+" "+s.kind())
			return false, false
		}
		var param *argument
		if t.param != pNone {
			if i+1 >= len(n.args) || !typeOK(n.args[i+1], t.param) {
				found := "none"
				if i+1 < len(n.args) {
					found = argDesc(n.args[i+1])
				}
				c.errorf(a.pos, "the :"+a.tag+" tag for the "+s.name+" "+s.kind()+" requires "+t.param.String()+" as parameter, but "+found+" was found")
				return false, false
			}
			i++
			param = n.args[i]
		}
		n.tags[a.tag] = param
		n.tagAt[a.tag] = a.pos
	}
	rest := n.args[i:]
	for _, a := range rest {
		if a.kind == aTag {
			if _, known := c.findTag(s, a.tag); !known {
				c.errorf(a.pos, "unknown tagged argument ':"+a.tag+"' for the "+s.name+" "+s.kind()+" (reported only once at first occurrence)")
				return false, false
			}
			c.errorf(a.pos, "unexpected tagged argument ':"+a.tag+"' found among the positional arguments of the "+s.name+" "+s.kind())
			return true, false
		}
	}
	if !ok {
		return false, false
	}
	return true, c.positional(n, rest, what)
}

func (c *checker) positional(n *node, rest []*argument, what string) bool {
	s := n.spec
	opt := s.opt
	if opt < 0 {
		opt = -opt
	}
	min, max := len(s.pos)-opt, len(s.pos)
	if len(rest) < min || len(rest) > max {
		c.errorf(n.pos, what+" requires "+itoa(min)+" positional argument(s), but "+itoa(len(rest))+" is/are specified")
		return false
	}
	skip := max - len(rest)
	if s.opt < 0 {
		skip = 0
	}
	n.pargs = make([]*argument, max)
	for j, a := range rest {
		k := j + skip
		pa := s.pos[k]
		if !typeOK(a, pa.typ) {
			c.errorf(a.pos, what+" expects "+pa.typ.String()+" as argument "+itoa(k+1)+" ("+pa.name+"), but "+argDesc(a)+" was found")
			return false
		}
		n.pargs[k] = a
	}
	return true
}

func typeOK(a *argument, t argType) bool {
	switch t {
	case pString:
		return a.kind == aStrings && !a.list && len(a.strs) == 1
	case pList:
		return a.kind == aStrings
	case pNumber:
		return a.kind == aNumber
	}
	return false
}

func argDesc(a *argument) string {
	switch {
	case a.kind == aTag:
		return "a tagged argument"
	case a.kind == aNumber:
		return "a number"
	case a.list:
		return "a string list"
	}
	return "a string"
}

// str returns a node's string argument (one string).
func (a *argument) str() string {
	if a == nil || len(a.strs) == 0 {
		return ""
	}
	return a.strs[0]
}

func (n *node) tag(name string) (*argument, bool) {
	a, ok := n.tags[name]
	return a, ok
}
