package sieve

import (
	"errors"
	"mime"
	"strings"
	"unicode/utf8"
)

// The mime, foreverypart and extracttext extensions (RFC 5703).

func foreverypartSpecs() []*spec {
	return []*spec{
		{name: "foreverypart", tags: []tagSpec{{name: "name", param: pString}}, block: true, check: checkForeverypart, run: runForeverypart},
		{name: "break", tags: []tagSpec{{name: "name", param: pString}}, check: checkBreak, run: runBreak},
	}
}

func extracttextSpecs() []*spec {
	return []*spec{{name: "extracttext", tags: append(setModifiers(), tagSpec{name: "first", param: pNumber}),
		pos: []posArg{{pString, "varname"}}, check: checkExtracttext, run: runExtracttext}}
}

type loopData struct{ name string }

// errBreak ends the foreverypart loop of its name ("" the innermost).
type errBreak struct{ name string }

func (e *errBreak) Error() string { return "break outside foreverypart" }

func checkForeverypart(c *checker, n *node) {
	d := &loopData{}
	if a, ok := n.tag("name"); ok {
		d.name = a.str()
	}
	n.data = d
	c.loops = append(c.loops, d.name)
	c.loopsNode = append(c.loopsNode, n)
	if len(c.loops) == maxLoopNesting+1 {
		c.errorf(n.pos, "foreverypart loops cannot be nested deeper than "+itoa(maxLoopNesting)+" levels")
	}
}

// maxLoopNesting bounds nested foreverypart loops (Pigeonhole's limit),
// at compile time and, across includes, at run time.
const maxLoopNesting = 4

func checkBreak(c *checker, n *node) {
	d := &loopData{}
	if a, ok := n.tag("name"); ok {
		d.name = a.str()
	}
	n.data = d
	if len(c.loops) == 0 {
		c.errorf(n.pos, "the break command is not placed inside a foreverypart loop")
		return
	}
	if d.name == "" {
		return
	}
	for _, l := range c.loops {
		if l == d.name {
			return
		}
	}
	c.errorf(n.pos, "the break command is not placed inside a foreverypart loop named '"+d.name+"'")
}

func runBreak(x *exec, n *node) (bool, error) {
	return false, &errBreak{name: n.data.(*loopData).name}
}

// children returns the parts foreverypart visits from part cur (-1: the
// whole message, the root included).
func (x *exec) children(cur int) []int {
	parts := x.msg.mimeParts()
	if cur < 0 {
		l := make([]int, len(parts))
		for i := range l {
			l[i] = i
		}
		return l
	}
	var l []int
	for i := cur + 1; i < len(parts) && parts[i].depth > parts[cur].depth; i++ {
		l = append(l, i)
	}
	return l
}

func runForeverypart(x *exec, n *node) (bool, error) {
	d := n.data.(*loopData)
	if x.loops >= maxLoopNesting {
		return false, runtimeErr(n, "foreverypart loops nested deeper than "+itoa(maxLoopNesting)+" levels")
	}
	x.loops++
	saved := x.part
	defer func() { x.part = saved; x.loops-- }()
	for _, i := range x.children(saved) {
		x.part = i
		err := x.block(n.block)
		var b *errBreak
		if errors.As(err, &b) {
			if b.name == "" || b.name == d.name {
				return true, nil
			}
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

func checkExtracttext(c *checker, n *node) {
	if !c.required["variables"] {
		c.errorf(n.pos, "the extracttext command requires the variables extension")
	}
	if len(c.loops) == 0 {
		c.errorf(n.pos, "the extracttext command is not placed inside a foreverypart loop")
	}
	checkSet(c, &node{pos: n.pos, name: n.name, tags: n.tags, pargs: []*argument{n.pargs[0], {kind: aStrings, strs: []string{""}}}})
	d := &setData{name: n.pargs[0].str()}
	for _, m := range modifierOrder {
		if _, ok := n.tag(m); ok {
			d.mods = append(d.mods, m)
		}
	}
	n.data = d
}

func runExtracttext(x *exec, n *node) (bool, error) {
	d := n.data.(*setData)
	v := ""
	parts := x.msg.mimeParts()
	if x.part >= 0 && x.part < len(parts) && strings.HasPrefix(parts[x.part].ctype, "text/") {
		v = parts[x.part].body
		if parts[x.part].ctype == "text/html" {
			v = htmlText(v)
		}
	}
	if a, ok := n.tag("first"); ok && uint64(utf8.RuneCountInString(v)) > a.num {
		r := []rune(v)
		v = string(r[:a.num])
	}
	for _, m := range d.mods {
		v = applyModifier(m, v)
	}
	x.setVar(d.name, v)
	return true, nil
}

// mimeFields returns the header fields a :mime test looks at: the
// current part's (the message's outside foreverypart), or with
// :anychild those of every part below it.
func (x *exec) mimeFields(n *node) [][]*field {
	if _, ok := n.tag("mime"); !ok {
		return [][]*field{x.fields()}
	}
	parts := x.msg.mimeParts()
	cur := [][]*field{x.fields()}
	if x.part >= 0 && x.part < len(parts) {
		cur = [][]*field{parts[x.part].header}
	}
	if _, any := n.tag("anychild"); !any {
		return cur
	}
	l := cur
	for _, i := range x.children(x.part) {
		if i != x.part && (x.part >= 0 || i > 0) {
			l = append(l, parts[i].header)
		}
	}
	return l
}

// mimeValues applies :type, :subtype, :contenttype and :param to header
// values (RFC 5703 §4.2).
func mimeValues(n *node, vals []string) []string {
	var out []string
	for _, v := range vals {
		mt, params, err := mime.ParseMediaType(v)
		if err != nil {
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]))
		}
		typ, sub, _ := strings.Cut(mt, "/")
		switch {
		case hasTag(n, "type"):
			out = append(out, typ)
		case hasTag(n, "subtype"):
			out = append(out, sub)
		case hasTag(n, "contenttype"):
			out = append(out, mt)
		case hasTag(n, "param"):
			for _, p := range n.tags["param"].strs {
				if pv, ok := params[strings.ToLower(p)]; ok {
					out = append(out, pv)
				}
			}
		default:
			out = append(out, v)
		}
	}
	return out
}

func hasTag(n *node, t string) bool {
	_, ok := n.tags[t]
	return ok
}

// checkMimeTags checks the :mime options' dependencies.
func (c *checker) checkMimeTags(n *node) {
	_, m := n.tag("mime")
	for _, t := range []string{"anychild", "type", "subtype", "contenttype", "param"} {
		if _, ok := n.tag(t); ok && !m {
			c.errorf(n.tagAt[t], "the :"+t+" tag of the "+n.name+" test requires the :mime tag")
		}
	}
	if n.name != "header" {
		for _, t := range []string{"type", "subtype", "contenttype", "param"} {
			if _, ok := n.tag(t); ok {
				c.errorf(n.tagAt[t], "the :"+t+" tag is not allowed for the "+n.name+" test")
			}
		}
	}
}
