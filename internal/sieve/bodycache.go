package sieve

import "strings"

// bodyText is what body tests with one transform match, extracted once
// per Run, with its ASCII-folded form for case-insensitive :contains.
type bodyText struct {
	vals   []string
	folded []string       // nil until needed
	hists  []*[256]uint32 // byte counts of folded, for containsRare
}

// bodyText returns the body test's texts, cached per message by transform
// (RFC 5173 §5: :raw, :text or :content and its types).
func (x *exec) bodyText(d *bodyData) *bodyText {
	key := "raw"
	switch {
	case d.raw:
	case d.content == nil:
		key = "text"
	default:
		key = "content\\x00" + strings.Join(x.expandList(d.content), "\\x00")
	}
	m := x.msg
	if t, ok := m.bodies[key]; ok {
		return t
	}
	if m.bodies == nil || len(m.bodies) >= 16 {
		m.bodies = map[string]*bodyText{}
	}
	t := &bodyText{vals: x.bodyValues(d)}
	m.bodies[key] = t
	return t
}

func (t *bodyText) fold() []string {
	if t.folded == nil {
		t.folded = make([]string, len(t.vals))
		t.hists = make([]*[256]uint32, len(t.vals))
		for i, v := range t.vals {
			t.folded[i] = asciiLower(v)
			t.hists[i] = byteCounts(t.folded[i])
		}
	}
	return t.folded
}

func byteCounts(s string) *[256]uint32 {
	var h [256]uint32
	for i := 0; i < len(s); i++ {
		h[s[i]]++
	}
	return &h
}

// containsRare is strings.Contains(v, k) for a long v whose byte counts
// are hist: it looks for k's rarest byte, so that a key with a byte
// the text lacks costs one IndexByte, and one with a common first byte
// does not stop at every occurrence of it.
func containsRare(v string, hist *[256]uint32, k string) bool {
	if len(k) == 0 || len(k) > len(v) {
		return len(k) == 0
	}
	j := 0
	for i := 1; i < len(k); i++ {
		if hist[k[i]] < hist[k[j]] {
			j = i
		}
	}
	c, last := k[j], len(v)-len(k)+j // c's possible positions: j..last
	for off := j; off <= last; {
		i := strings.IndexByte(v[off:last+1], c)
		if i < 0 {
			return false
		}
		if start := off + i - j; v[start:start+len(k)] == k {
			return true
		}
		off += i + 1
	}
	return false
}

// matchText is match on a body's texts. An i;ascii-casemap :contains
// searches the folded texts with containsRare, which is fast on long
// texts; it counts the same steps as match.
func (m *matcher) matchText(x *exec, t *bodyText) (bool, error) {
	if m.mt != mContains || m.cmp != cmpASCIICasemap {
		return m.match(x, t.vals)
	}
	for i, v := range t.fold() {
		for _, k := range m.keys {
			if err := x.step(); err != nil {
				return false, err
			}
			if containsRare(v, t.hists[i], asciiLower(x.expand(k))) {
				return true, nil
			}
		}
	}
	return false, nil
}
