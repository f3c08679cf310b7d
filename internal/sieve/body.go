package sieve

import (
	"bytes"
	"html"
	"io"
	"strings"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // charsets for decoded text
)

// The body extension (RFC 5173).

func bodySpecs() []*spec {
	return []*spec{{name: "body", test: true, match: true,
		tags: []tagSpec{{name: "raw", group: "transform"}, {name: "content", param: pList, group: "transform"}, {name: "text", group: "transform"}},
		pos:  []posArg{{pList, "key list"}}, check: checkBody, run: runBody}}
}

type bodyData struct {
	raw     bool
	content []*str // nil: :text
}

func checkBody(c *checker, n *node) {
	d := &bodyData{}
	_, d.raw = n.tag("raw")
	if a, ok := n.tag("content"); ok {
		d.content = c.strs(a)
	}
	n.data = d
	n.mt = c.newMatcher(n, n.pargs[0])
	if n.mt != nil {
		n.mt.noVars = true // the body test sets no match variables (RFC 5173 §5)
	}
}

func runBody(x *exec, n *node) (bool, error) {
	d := n.data.(*bodyData)
	if len(x.msg.bodyBytes()) == 0 {
		return false, nil // no body, nothing to match
	}
	return n.mt.matchText(x, x.bodyText(d))
}

// bodyValues are the texts a body test matches for its transform
// (RFC 5173 §5).
func (x *exec) bodyValues(d *bodyData) []string {
	if d.raw {
		return []string{string(x.msg.bodyBytes())}
	}
	types := []string{"text"}
	if d.content != nil {
		types = x.expandList(d.content)
	}
	return x.msg.parts(types, d.content == nil)
}

// mimePart is one part of the message: its header and decoded body.
type mimePart struct {
	header []*field
	ctype  string // lower-case type/subtype
	params map[string]string
	body   string
	multi  bool
	depth  int
	parent int // index of the enclosing multipart, -1 for the top
	epilog string
}

// mimeParts parses the message's MIME structure once.
func (m *message) mimeParts() []*mimePart {
	if m.partsDone {
		return m.partList
	}
	m.partsDone = true
	if p, ok := m.singlePart(); ok {
		m.partList = []*mimePart{p}
		return m.partList
	}
	e, err := gomessage.Read(bytes.NewReader(m.all()))
	if e == nil {
		_ = err
		return nil
	}
	parents := map[*gomessage.Entity]int{}
	_ = e.Walk(func(path []int, ent *gomessage.Entity, err error) error {
		if ent == nil {
			return nil
		}
		p := &mimePart{depth: len(path), parent: -1}
		t, params, perr := ent.Header.ContentType()
		switch {
		case !ent.Header.Has("Content-Type"):
			t = "text/plain" // RFC 2045 §5.2
		case perr != nil || strings.Count(t, "/") != 1:
			t = "application/octet-stream"
		}
		p.ctype, p.params = strings.ToLower(t), params
		p.multi = strings.HasPrefix(p.ctype, "multipart/")
		fs := ent.Header.Fields()
		for fs.Next() {
			raw, _ := fs.Raw()
			name, val, _ := strings.Cut(string(raw), ":")
			p.header = append(p.header, &field{name: name, raw: strings.TrimRight(val, "\r\n")})
		}
		if !p.multi {
			b, _ := io.ReadAll(io.LimitReader(ent.Body, 16<<20))
			p.body = string(b)
		}
		m.partList = append(m.partList, p)
		parents[ent] = len(m.partList) - 1
		return nil
	})
	return m.partList
}

// parts returns the decoded bodies of the parts whose content type
// matches one of types (RFC 5173 §5.2: "type" or "type/subtype", ""
// for all).
func (m *message) parts(types []string, text bool) []string {
	var out []string
	for _, p := range m.mimeParts() {
		if p.multi {
			continue
		}
		for _, t := range types {
			if contentTypeMatches(p.ctype, strings.ToLower(t)) {
				if text && p.ctype == "text/html" {
					out = append(out, htmlText(p.body))
				} else {
					out = append(out, p.body)
				}
				break
			}
		}
	}
	return out
}

func contentTypeMatches(ct, t string) bool {
	if t == "" {
		return true
	}
	if strings.Count(t, "/") > 1 {
		return false
	}
	if strings.Contains(t, "/") {
		return ct == t
	}
	major, _, _ := strings.Cut(ct, "/")
	return major == t
}

// htmlText is the text of an HTML part without its markup, for :text
// (RFC 5173 §5.3: "the text content").
func htmlText(h string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(h, '<')
		if i < 0 {
			b.WriteString(h)
			break
		}
		b.WriteString(h[:i])
		j := strings.IndexByte(h[i:], '>')
		if j < 0 {
			break
		}
		h = h[i+j+1:]
	}
	return html.UnescapeString(b.String())
}
