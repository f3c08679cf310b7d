package sieve

import "strings"

// The include extension (RFC 6609).

// The defaults of CompileOptions.MaxIncludeDepth and MaxIncludes
// (Pigeonhole's).
const (
	maxIncludeDepth = 10
	maxIncludes     = 255
)

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func includeSpecs() []*spec {
	return []*spec{
		{name: "include", tags: []tagSpec{{name: "personal", group: "location"}, {name: "global", group: "location"},
			{name: "once"}, {name: "optional"}}, pos: []posArg{{pString, "script name"}}, check: checkInclude, run: runInclude},
		{name: "return", run: func(*exec, *node) (bool, error) { return false, errReturn }},
		{name: "global", pos: []posArg{{pList, "variable names"}}, check: checkGlobal, run: runGlobal},
	}
}

// includeState is shared by a script and the scripts it includes.
type includeState struct {
	stack []string
	cache map[string]*program
}

type includeData struct {
	key  string
	prog *program // nil: optional and missing
	once bool
	// state, for a circular :once include, has the program once compiled.
	state *includeState
}

func checkInclude(c *checker, n *node) {
	name := n.pargs[0].str()
	_, global := n.tag("global")
	d := &includeData{key: name}
	if global {
		d.key = ":global/" + name
	}
	_, d.once = n.tag("once")
	n.data = d
	if name == "" || strings.ContainsAny(name, "/\x00") {
		c.errorf(n.pargs[0].pos, "include: invalid script name '"+name+"'")
		return
	}
	if c.incl == nil {
		c.incl = &includeState{cache: map[string]*program{}}
	}
	for _, s := range c.incl.stack {
		if s == d.key {
			if d.once {
				d.state = c.incl // resolved at run time (RFC 6609 §3.2)
				return
			}
			c.errorf(n.pos, "circular include for script '"+name+"'")
			return
		}
	}
	if p, ok := c.incl.cache[d.key]; ok {
		d.prog = p
		return
	}
	if depth := orDefault(c.opts.MaxIncludeDepth, maxIncludeDepth); len(c.incl.stack) > depth {
		c.errorf(n.pos, "cannot nest includes deeper than "+itoa(depth)+" levels")
		return
	}
	if max := orDefault(c.opts.MaxIncludes, maxIncludes); len(c.incl.cache) > max {
		c.errorf(n.pos, "include: the script includes more than "+itoa(max)+" scripts")
		return
	}
	_, optional := n.tag("optional")
	var src []byte
	var err error
	if c.opts.Include == nil {
		err = errNoInclude
	} else {
		src, err = c.opts.Include(name, global)
	}
	if err != nil {
		if !optional {
			c.errorf(n.pos, "include: script '"+name+"' not found: "+err.Error())
		}
		return
	}
	d.prog = c.compileIncluded(n, d.key, name, src)
}

type includeError string

func (e includeError) Error() string { return string(e) }

const errNoInclude = includeError("include is not available")

func (c *checker) compileIncluded(n *node, key, name string, src []byte) *program {
	cmds, errs := parse(src)
	if len(errs) > 0 {
		c.errorf(n.pos, "failed to compile included script '"+name+"'")
		return nil
	}
	sub := &checker{reg: c.reg, opts: c.opts, allowed: c.allowed, required: map[string]bool{}, incl: c.incl}
	sub.prog = &program{name: name, cmds: cmds, required: sub.required}
	c.incl.stack = append(c.incl.stack, key)
	sub.block(cmds, true)
	c.incl.stack = c.incl.stack[:len(c.incl.stack)-1]
	if len(sub.errs) > 0 {
		c.errs = append(c.errs, sub.errs...)
		c.errorf(n.pos, "failed to compile included script '"+name+"'")
		return nil
	}
	c.incl.cache[key] = sub.prog
	return sub.prog
}

func runInclude(x *exec, n *node) (bool, error) {
	d := n.data.(*includeData)
	prog := d.prog
	if prog == nil && d.state != nil {
		prog = d.state.cache[d.key]
	}
	if prog == nil {
		return true, nil
	}
	if x.included == nil {
		x.included = map[string]bool{}
	}
	if d.once && x.included[d.key] {
		return true, nil
	}
	x.included[d.key] = true
	x.depth++
	if x.depth > maxIncludeDepth {
		return false, runtimeErr(n, "include nesting too deep")
	}
	saved, vars, decl := x.prog, x.vars, x.globalDecl
	x.prog, x.vars, x.globalDecl = prog, map[string]string{}, nil
	err := x.block(prog.cmds)
	x.prog, x.vars, x.globalDecl = saved, vars, decl
	x.depth--
	if err == errReturn {
		err = nil
	}
	return err == nil, err
}

func checkGlobal(c *checker, n *node) {
	if !c.required["variables"] {
		c.errorf(n.pos, "the global command requires the variables extension")
	}
	if c.globals == nil {
		c.globals = map[string]bool{}
	}
	for _, s := range n.pargs[0].strs {
		switch l := strings.ToLower(s); {
		case !validVarName(s, false):
			c.errorf(n.pargs[0].pos, "invalid variable name '"+s+"'")
		case c.locals[l]:
			c.errorf(n.pargs[0].pos, "variable '"+s+"' is already used as a local variable; it cannot be declared global")
		default:
			c.globals[l] = true
		}
	}
}

func runGlobal(x *exec, n *node) (bool, error) {
	if x.global == nil {
		x.global = map[string]string{}
	}
	if x.globalDecl == nil {
		x.globalDecl = map[string]struct{}{}
	}
	for _, s := range n.pargs[0].strs {
		s = strings.ToLower(s)
		x.globalDecl[s] = struct{}{}
		if v, ok := x.vars[s]; ok {
			if _, set := x.global[s]; !set {
				x.global[s] = v
			}
			delete(x.vars, s)
		}
	}
	return true, nil
}

func (x *exec) globalNames() map[string]struct{} { return x.globalDecl }
