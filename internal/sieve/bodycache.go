package sieve

import "strings"

// bodyText is what body tests with one transform match, extracted once
// per Run, with its ASCII-folded form for case-insensitive :contains.
type bodyText struct {
	vals   []string
	folded []string // nil until needed
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
		for i, v := range t.vals {
			t.folded[i] = asciiLower(v)
		}
	}
	return t.folded
}

// matchText is match on a body's texts. An i;ascii-casemap :contains
// searches the folded texts with strings.Contains, which is fast on
// long texts; it counts the same steps as match.
func (m *matcher) matchText(x *exec, t *bodyText) (bool, error) {
	if m.mt != mContains || m.cmp != cmpASCIICasemap {
		return m.match(x, t.vals)
	}
	for _, v := range t.fold() {
		for _, k := range m.keys {
			if err := x.step(); err != nil {
				return false, err
			}
			if strings.Contains(v, asciiLower(x.expand(k))) {
				return true, nil
			}
		}
	}
	return false, nil
}
