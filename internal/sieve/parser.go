package sieve

// The parser of RFC 5228 §8.2's grammar, with Pigeonhole's limits on
// nesting and argument counts, and recovery so that one script yields
// all its errors.

const (
	maxBlockNesting = 32
	maxTestNesting  = 32
	maxArguments    = 32
	maxParseErrors  = 64
)

type argKind int

const (
	aTag argKind = iota
	aNumber
	aStrings
)

// argument is one argument of a command or test.
type argument struct {
	pos  pos
	kind argKind
	tag  string
	num  uint64
	strs []string
	list bool // written as a bracketed list
}

// node is a command or a test.
type node struct {
	pos      pos
	name     string
	args     []*argument
	tests    []*node
	testList bool // tests written as a parenthesised list
	block    []*node
	hasBlock bool

	// Filled in by the checker.
	spec  *spec
	tags  map[string]*argument // tag -> its parameter (nil when none)
	tagAt map[string]pos
	pargs []*argument // positional arguments
	mt    *matcher
	ap    addrPart
	data  any
}

type parser struct {
	lx    *lexer
	tok   token
	errs  *ErrorList
	nerr  int
	depth int
}

func parse(src []byte) ([]*node, ErrorList) {
	var errs ErrorList
	p := &parser{errs: &errs}
	p.lx = newLexer(src, &errs)
	p.tok = p.lx.next()
	cmds := p.commands(true)
	sortErrors(errs)
	return cmds, errs
}

func sortErrors(errs ErrorList) {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && less(errs[j], errs[j-1]); j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}

func less(a, b *Error) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
}

func (p *parser) errorf(at pos, msg string) {
	p.nerr++
	*p.errs = append(*p.errs, &Error{Line: at.line, Column: at.col, Msg: msg})
}

func (p *parser) advance() { p.tok = p.lx.next() }

func (p *parser) isPunct(s string) bool { return p.tok.kind == tPunct && p.tok.text == s }

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of script"
	case tIdent:
		return "identifier '" + t.text + "'"
	case tTag:
		return "tag ':" + t.text + "'"
	case tNumber:
		return "number"
	case tString:
		return "string"
	case tPunct:
		return "'" + t.text + "'"
	}
	return "unknown token"
}

// commands parses commands up to '}' (not top) or the end.
func (p *parser) commands(top bool) []*node {
	var cmds []*node
	for {
		if p.tok.kind == tEOF {
			return cmds
		}
		if p.isPunct("}") {
			if !top {
				return cmds
			}
			p.errorf(p.tok.pos, "unexpected '}' found at top level")
			p.advance()
			continue
		}
		if p.nerr > maxParseErrors {
			return cmds
		}
		if p.tok.kind != tIdent {
			p.errorf(p.tok.pos, "expected command identifier, but found "+describe(p.tok))
			p.recoverCommand()
			continue
		}
		if c := p.command(); c != nil {
			cmds = append(cmds, c)
		}
	}
}

// recoverCommand skips to the end of the current command: past a ';' or
// a whole block, or up to the '}' that ends the enclosing block.
func (p *parser) recoverCommand() {
	for {
		switch {
		case p.tok.kind == tEOF, p.isPunct("}"):
			return
		case p.isPunct(";"):
			p.advance()
			return
		case p.isPunct("{"):
			p.skipBalanced("{", "}")
			return
		}
		p.advance()
	}
}

// skipBalanced skips from an opening token past its matching close,
// without recursion.
func (p *parser) skipBalanced(open, close string) {
	n := 0
	for p.tok.kind != tEOF {
		if p.isPunct(open) {
			n++
		} else if p.isPunct(close) {
			n--
			if n == 0 {
				p.advance()
				return
			}
		}
		p.advance()
	}
}

func (p *parser) command() *node {
	c := &node{pos: p.tok.pos, name: p.tok.text}
	p.advance()
	if !p.arguments(c, 0) {
		p.recoverCommand()
		return nil
	}
	switch {
	case p.isPunct(";"):
		p.advance()
	case p.isPunct("{"):
		c.hasBlock = true
		open := p.tok.pos
		p.advance()
		p.depth++
		if p.depth > maxBlockNesting {
			p.errorf(open, "cannot nest command blocks deeper than "+itoa(maxBlockNesting)+" levels")
			p.depth--
			p.skipToBlockEnd()
			return nil
		}
		c.block = p.commands(false)
		p.depth--
		if !p.isPunct("}") {
			p.errorf(p.tok.pos, "expected '}' to end the block started at line "+itoa(open.line)+", but found "+describe(p.tok))
			return c
		}
		p.advance()
	default:
		p.errorf(p.tok.pos, "expected ';' or '{' after command '"+c.name+"', but found "+describe(p.tok))
		p.recoverCommand()
		return nil
	}
	return c
}

// skipToBlockEnd skips the rest of a block whose '{' was consumed.
func (p *parser) skipToBlockEnd() {
	n := 1
	for p.tok.kind != tEOF {
		if p.isPunct("{") {
			n++
		} else if p.isPunct("}") {
			n--
			if n == 0 {
				p.advance()
				return
			}
		}
		p.advance()
	}
}

// arguments parses *argument [test / test-list] into n.
func (p *parser) arguments(n *node, tdepth int) bool {
	for {
		a, ok := p.argument()
		if !ok {
			return false
		}
		if a == nil {
			break
		}
		if len(n.args) >= maxArguments {
			p.errorf(a.pos, "too many arguments for '"+n.name+"'")
			return false
		}
		n.args = append(n.args, a)
	}
	switch {
	case p.tok.kind == tIdent:
		t := p.test(tdepth + 1)
		if t == nil {
			return false
		}
		n.tests = []*node{t}
	case p.isPunct("("):
		n.testList = true
		open := p.tok.pos
		if tdepth+1 > maxTestNesting {
			p.errorf(open, "cannot nest tests deeper than "+itoa(maxTestNesting)+" levels")
			p.skipBalanced("(", ")")
			return false
		}
		p.advance()
		for {
			if p.tok.kind != tIdent {
				p.errorf(p.tok.pos, "expected test identifier in test list, but found "+describe(p.tok))
				return false
			}
			t := p.test(tdepth + 1)
			if t == nil {
				return false
			}
			n.tests = append(n.tests, t)
			if p.isPunct(",") {
				p.advance()
				continue
			}
			if p.isPunct(")") {
				p.advance()
				break
			}
			p.errorf(p.tok.pos, "expected ',' or ')' in test list, but found "+describe(p.tok))
			return false
		}
	}
	return true
}

func (p *parser) test(depth int) *node {
	if depth > maxTestNesting {
		p.errorf(p.tok.pos, "cannot nest tests deeper than "+itoa(maxTestNesting)+" levels")
		return nil
	}
	t := &node{pos: p.tok.pos, name: p.tok.text}
	p.advance()
	if !p.arguments(t, depth) {
		return nil
	}
	return t
}

// argument parses one argument; nil, true at the end of the arguments.
func (p *parser) argument() (*argument, bool) {
	t := p.tok
	switch {
	case t.kind == tTag:
		p.advance()
		return &argument{pos: t.pos, kind: aTag, tag: t.text}, true
	case t.kind == tNumber:
		p.advance()
		return &argument{pos: t.pos, kind: aNumber, num: t.num}, true
	case t.kind == tString:
		p.advance()
		return &argument{pos: t.pos, kind: aStrings, strs: []string{t.text}}, true
	case p.isPunct("["):
		return p.stringList()
	case t.kind == tBad:
		p.errorf(t.pos, "unexpected "+describe(t)+" in arguments")
		p.advance()
		return nil, false
	}
	return nil, true
}

func (p *parser) stringList() (*argument, bool) {
	a := &argument{pos: p.tok.pos, kind: aStrings, list: true}
	p.advance()
	for {
		if p.tok.kind != tString {
			p.errorf(p.tok.pos, "expected string in string list, but found "+describe(p.tok))
			return nil, false
		}
		a.strs = append(a.strs, p.tok.text)
		p.advance()
		if p.isPunct(",") {
			p.advance()
			continue
		}
		if p.isPunct("]") {
			p.advance()
			return a, true
		}
		p.errorf(p.tok.pos, "expected ',' or ']' in string list, but found "+describe(p.tok))
		return nil, false
	}
}
