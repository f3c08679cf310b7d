package sieve

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"
)

// program is a compiled script.
type program struct {
	name     string
	cmds     []*node
	required map[string]bool
	warnings ErrorList
	regexps  regexpCache // keys with variables, compiled at run time
}

// str is a string argument, with whether it holds variable references
// to expand at run time (RFC 5229 §3).
type str struct {
	s   string
	dyn bool
}

// strs converts a string or string list argument, decoding encoded
// characters when that extension is required (RFC 5228 §2.4.2.4).
func (c *checker) strs(a *argument) []*str {
	if a == nil {
		return nil
	}
	l := make([]*str, len(a.strs))
	for i, s := range a.strs {
		if c.required["encoded-character"] {
			s = c.decodeEncoded(a.pos, s)
		}
		l[i] = &str{s: s, dyn: c.required["variables"] && strings.Contains(s, "${")}
		if l[i].dyn {
			c.checkReferences(a.pos, s)
		}
	}
	return l
}

func (c *checker) str1(a *argument) *str {
	if l := c.strs(a); len(l) > 0 {
		return l[0]
	}
	return &str{}
}

var (
	errStop   = errors.New("sieve: stop")
	errReturn = errors.New("sieve: return")
)

// RuntimeError is an error a script met at run time (a limit exceeded,
// an action conflict); the caller keeps the message.
type RuntimeError struct {
	Pos Error
}

func (e *RuntimeError) Error() string { return e.Pos.Error() }

func runtimeErr(n *node, msg string) error {
	return &RuntimeError{Pos: Error{Line: n.pos.line, Column: n.pos.col, Msg: msg}}
}

// exec is one Run's state.
type exec struct {
	ctx      context.Context
	in       *Input
	prog     *program
	msg      *message
	steps    int
	limits   Limits
	deadline time.Time

	vars      map[string]string
	matchVars []string
	flags     []string // imap4flags' internal variable (RFC 5232 §3)
	res       Result
	keep      bool // the implicit keep is still on
	edits     int
	globCaps  []int // globMatch's scratch
	// scratch of the header and address tests
	fieldBuf []*field
	valBuf   []string
	addrBuf  []string
	partBuf  []string
	// header edited by editheader, nil when unchanged
	edited     []*field
	hook       any // for tests of this package
	global     map[string]string
	globalDecl map[string]struct{}
	depth      int
	part       int   // the MIME part foreverypart is at, -1 outside
	cur        *node // the test being evaluated
	loops      int   // foreverypart loops entered
	included   map[string]bool
}

func (x *exec) step() error {
	x.steps++
	if x.steps > x.limits.Steps {
		return errors.New("sieve: execution exceeded the step limit")
	}
	if x.steps&63 == 0 {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(x.deadline) {
			return errors.New("sieve: execution exceeded the time limit")
		}
	}
	return nil
}

func (x *exec) regexp(m *matcher, key string) (*regexp.Regexp, error) {
	k := string(rune('0'+m.mt)) + string(rune('0'+m.cmp)) + key
	return x.prog.regexps.get(k, func() (*regexp.Regexp, error) { return m.compile(key) })
}

func (x *exec) setMatch(sub []string) {
	if !x.prog.required["variables"] {
		return
	}
	x.matchVars = append(x.matchVars[:0], sub...)
}

func withDefaults(l Limits) Limits {
	if l.Steps <= 0 {
		l.Steps = DefaultSteps
	}
	if l.Redirects <= 0 {
		l.Redirects = DefaultRedirects
	}
	if l.Actions <= 0 {
		l.Actions = DefaultActions
	}
	if l.HeaderEdits <= 0 {
		l.HeaderEdits = DefaultHeaderEdits
	}
	if l.Time <= 0 {
		l.Time = DefaultTime
	}
	return l
}

// Compile parses and checks a script. Its error, when not nil, is an
// ErrorList.
func Compile(src []byte, opts *CompileOptions) (*Script, error) {
	if opts == nil {
		opts = &CompileOptions{}
	}
	max := opts.MaxSize
	if max <= 0 {
		max = DefaultMaxSize
	}
	if len(src) > max {
		return nil, ErrorList{{Line: 1, Column: 1, Msg: "script is too large (max " + itoa(max) + " bytes)"}}
	}
	cmds, errs := parse(src)
	if len(errs) > 0 {
		return nil, errs
	}
	c := &checker{reg: newRegistry(opts.extra), opts: opts, required: map[string]bool{}}
	if opts.Extensions != nil {
		c.allowed = map[string]bool{}
		for _, e := range opts.Extensions {
			c.allowed[e] = true
		}
	}
	c.prog = &program{name: opts.Name, cmds: cmds, required: c.required}
	c.incl = &includeState{stack: []string{opts.Name}, cache: map[string]*program{opts.Name: c.prog}}
	c.block(cmds, true)
	if c.required["extracttext"] && !c.required["foreverypart"] {
		c.errorf(pos{1, 1}, "the extracttext extension cannot be used without the foreverypart extension")
	}
	if len(c.errs) > 0 {
		all := append(c.errs, c.warns...)
		sortErrors(all)
		return nil, all
	}
	c.prog.warnings = c.warns
	return &Script{prog: c.prog}, nil
}

// Warnings returns the compile warnings of a script that compiled.
func (s *Script) Warnings() ErrorList { return s.prog.(*program).warnings }

// Run executes the script on in. A script that fails at run time or
// exceeds in.Limits returns the error, and the caller keeps the message.
func (s *Script) Run(ctx context.Context, in *Input) (*Result, error) {
	x := newExec(ctx, s.prog.(*program), in)
	if err := x.run(); err != nil {
		return &x.res, err
	}
	x.finish()
	return &x.res, nil
}

func newExec(ctx context.Context, p *program, in *Input) *exec {
	l := withDefaults(in.Limits)
	return &exec{ctx: ctx, in: in, prog: p, limits: l, deadline: time.Now().Add(l.Time), keep: true,
		vars: map[string]string{}, msg: newMessage(in), hook: in.hook, part: -1, flags: normalizeFlags(in.Flags)}
}

func (x *exec) run() error {
	err := x.block(x.prog.cmds)
	if err == errStop || err == errReturn {
		err = nil
	}
	return err
}

// finish adds the implicit keep (RFC 5228 §2.10.2).
func (x *exec) finish() {
	x.res.Flags = cloneFlags(x.flags)
	if x.keep {
		x.addImplicitKeep()
	}
}

// addImplicitKeep adds the implicit keep, merged with an explicit keep
// or fileinto "INBOX" already taken.
func (x *exec) addImplicitKeep() {
	k := Keep{Flags: cloneFlags(x.flags), Header: x.editedHeader()}
	for i, old := range x.res.Actions {
		if merged, dup := sameAction(old, k); dup {
			x.res.Actions[i] = merged
			return
		}
	}
	x.res.Actions = append(x.res.Actions, k)
	x.res.ImplicitKeep = true
}

func cloneFlags(f []string) []string {
	if len(f) == 0 {
		return nil
	}
	return append([]string(nil), f...)
}

// block runs commands, with if/elsif/else chains (RFC 5228 §3.1).
func (x *exec) block(cmds []*node) error {
	taken := false
	for _, n := range cmds {
		if err := x.step(); err != nil {
			return err
		}
		switch n.name {
		case "if", "elsif", "else":
			if n.name != "if" && taken {
				continue
			}
			ok := true
			if n.name != "else" {
				var err error
				if ok, err = x.test(n.tests[0]); err != nil {
					return err
				}
			}
			taken = ok
			if ok {
				if err := x.block(n.block); err != nil {
					return err
				}
			}
			continue
		}
		taken = false
		x.cur = n
		if _, err := n.spec.run(x, n); err != nil {
			return err
		}
	}
	return nil
}

func (x *exec) test(n *node) (bool, error) {
	if err := x.step(); err != nil {
		return false, err
	}
	x.cur = n
	return n.spec.run(x, n)
}

// warn logs a runtime warning, with the position of the test or command
// (Result.Log entries of this form are warnings, the others notes).
func (x *exec) warn(n *node, msg string) {
	if n != nil {
		msg = itoa(n.pos.line) + ":" + itoa(n.pos.col) + ": " + msg
	}
	x.res.Log = append(x.res.Log, msg)
}

// expand substitutes variables in s (RFC 5229 §3).
func (x *exec) expand(s *str) string {
	if !s.dyn {
		return s.s
	}
	return x.expandString(s.s)
}

func (x *exec) expandList(l []*str) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = x.expand(s)
	}
	return out
}

// hookConfig reads a setting the tests of this package set.
func (x *exec) hookConfig(name string) (string, bool) {
	if h, ok := x.hook.(interface{ config(string) (string, bool) }); ok {
		return h.config(name)
	}
	return "", false
}
