package search

import (
	"cmp"
	"slices"
	"strconv"
)

// thread is a node of a THREAD response: a message, or a dummy (m nil)
// standing for a message that is referenced but not in the result.
type thread struct {
	m        *Msg
	parent   *thread
	children []*thread
	gone     bool // merged away during subject grouping
}

// append writes the node as a thread-list: "(" members ")" (RFC 5256 §4).
func (t *thread) append(b []byte, uid bool) []byte {
	return append(t.members(append(b, '('), uid), ')')
}

// members writes the node's number, then a lone child as a continuation
// of the list and several children as nested lists. A dummy writes only
// its children, nested.
func (t *thread) members(b []byte, uid bool) []byte {
	if t.m == nil {
		for _, c := range t.children {
			b = c.append(b, uid)
		}
		return b
	}
	b = appendNum(b, t.m, uid)
	switch len(t.children) {
	case 0:
	case 1:
		b = t.children[0].members(append(b, ' '), uid)
	default:
		b = append(b, ' ')
		for _, c := range t.children {
			b = c.append(b, uid)
		}
	}
	return b
}

// first is the message that stands for t: itself, or a dummy's first
// child (RFC 5256 §3, REFERENCES steps 5 and 6).
func (t *thread) first() *Msg {
	for t.m == nil && len(t.children) > 0 {
		t = t.children[0]
	}
	return t.m
}

// subject is the base subject used to group threads, folded.
func (t *thread) subject() (string, bool) {
	m := t.first()
	if m == nil || m.Parsed == nil {
		return "", false
	}
	return Fold(m.Parsed.BaseSubject), m.Parsed.SubjectIsReply
}

func (t *thread) adopt(c *thread) {
	c.parent = t
	t.children = append(t.children, c)
}

func (t *thread) unlink() {
	if p := t.parent; p != nil {
		p.children = slices.DeleteFunc(p.children, func(c *thread) bool { return c == t })
		t.parent = nil
	}
}

// isAncestor reports whether a is b or one of b's ancestors.
func isAncestor(a, b *thread) bool {
	for ; b != nil; b = b.parent {
		if a == b {
			return true
		}
	}
	return false
}

// byDate orders threads by the sent date of the messages that stand for
// them, then by sequence number (RFC 5256 §3).
func byDate(a, b *thread) int {
	ma, mb := a.first(), b.first()
	if ma == nil || mb == nil {
		return 0
	}
	return cmp.Or(sentDate(ma).Compare(sentDate(mb)), cmp.Compare(ma.Seq, mb.Seq))
}

// threadOrderedSubject implements THREAD=ORDEREDSUBJECT (RFC 5256 §3):
// messages grouped by base subject, each group's earliest message the
// parent of the others, groups ordered by that message's sent date.
func threadOrderedSubject(ms []*Msg) []*thread {
	type item struct {
		m    *Msg
		subj string
	}
	items := make([]item, len(ms))
	for i, m := range ms {
		items[i] = item{m, ""}
		if m.Parsed != nil {
			items[i].subj = Fold(m.Parsed.BaseSubject)
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.subj, b.subj), sentDate(a.m).Compare(sentDate(b.m)), cmp.Compare(a.m.Seq, b.m.Seq))
	})
	var roots []*thread
	for i, it := range items {
		if i > 0 && it.subj == items[i-1].subj {
			roots[len(roots)-1].adopt(&thread{m: it.m})
			continue
		}
		roots = append(roots, &thread{m: it.m})
	}
	slices.SortStableFunc(roots, byDate)
	return roots
}

// threadReferences implements THREAD=REFERENCES (RFC 5256 §3): the
// References and In-Reply-To links, dummies for missing parents, then
// grouping of the remaining threads by base subject.
func threadReferences(ms []*Msg) []*thread {
	all := linkReferences(ms)
	var roots []*thread
	for _, c := range all { // step 2
		if c.parent == nil {
			roots = append(roots, c)
		}
	}
	roots = prune(roots, true) // step 4
	roots = groupBySubject(roots)
	for _, r := range roots { // step 6
		sortChildren(r)
	}
	slices.SortStableFunc(roots, byDate) // step 7
	return roots
}

// linkReferences is step 1: a container per message ID, linked as the
// References say; it returns the containers in creation order.
func linkReferences(ms []*Msg) []*thread {
	byID := map[string]*thread{}
	var all []*thread
	get := func(id string) *thread {
		c, ok := byID[id]
		if !ok {
			c = &thread{}
			byID[id] = c
			all = append(all, c)
		}
		return c
	}
	for _, m := range ms {
		var id string
		var refs []string
		if p := m.Parsed; p != nil {
			id, refs = p.MessageID, p.References
			if len(refs) == 0 && len(p.InReplyTo) > 0 {
				refs = p.InReplyTo[:1]
			}
		}
		// A missing or duplicate Message-ID gets a unique one.
		if c, ok := byID[id]; id == "" || ok && c.m != nil {
			id = "\x00" + strconv.FormatUint(uint64(m.Seq), 10)
		}
		c := get(id)
		c.m = m
		// 1A: link the References in order, keeping existing links and
		// refusing loops.
		var prev *thread
		for _, r := range refs {
			rc := get(r)
			if prev != nil && rc.parent == nil && !isAncestor(rc, prev) {
				prev.adopt(rc)
			}
			prev = rc
		}
		// 1C: the message's own parent is the last reference.
		c.unlink()
		if prev != nil && !isAncestor(c, prev) {
			prev.adopt(c)
		}
	}
	return all
}

// prune is step 4: dummies without children go, dummies with children
// are replaced by them, except at the root when there are several.
func prune(list []*thread, root bool) []*thread {
	var out []*thread
	for _, c := range list {
		c.children = prune(c.children, false)
		if c.m == nil {
			if len(c.children) == 0 {
				continue
			}
			if !root || len(c.children) == 1 {
				for _, ch := range c.children {
					ch.parent = c.parent
				}
				out = append(out, c.children...)
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// groupBySubject is step 5: threads whose roots share a base subject are
// gathered.
func groupBySubject(roots []*thread) []*thread {
	table := map[string]*thread{}
	for _, c := range roots { // 5B
		s, reply := c.subject()
		if s == "" {
			continue
		}
		old := table[s]
		if old == nil || c.m == nil && old.m != nil {
			table[s] = c
			continue
		}
		if _, oldReply := old.subject(); old.m != nil && c.m != nil && oldReply && !reply {
			table[s] = c
		}
	}
	pos := make(map[*thread]int, len(roots))
	for i, c := range roots {
		pos[c] = i
	}
	for _, c := range slices.Clone(roots) { // 5C
		s, reply := c.subject()
		other := table[s]
		if s == "" || c.gone || c.parent != nil || other == c {
			continue
		}
		_, otherReply := other.subject()
		switch {
		case c.m == nil && other.m == nil:
			for _, ch := range c.children {
				other.adopt(ch)
			}
			c.gone = true
		case other.m == nil:
			other.adopt(c)
			c.gone = true
		case c.m == nil:
			c.adopt(other)
			other.gone, table[s] = true, c
		case !otherReply && reply:
			other.adopt(c)
			c.gone = true
		case otherReply && !reply:
			c.adopt(other)
			other.gone, table[s] = true, c
		default:
			d := &thread{}
			roots[pos[other]] = d
			pos[d] = pos[other]
			d.adopt(other)
			d.adopt(c)
			c.gone, table[s] = true, d
		}
	}
	return slices.DeleteFunc(roots, func(c *thread) bool { return c.gone })
}

// sortChildren is step 6: siblings by sent date, deepest first.
func sortChildren(t *thread) {
	for _, c := range t.children {
		sortChildren(c)
	}
	slices.SortStableFunc(t.children, byDate)
}
