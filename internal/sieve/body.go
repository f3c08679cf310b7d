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
	// body is the decoded body of a leaf part, the prologue of a
	// multipart one (epilog its epilogue); nested is the header of a
	// message/rfc822 one.
	body   string
	multi  bool
	depth  int
	parent int // index of the enclosing part, -1 for the top
	epilog string
	nested string
	broken bool // an unknown Content-Transfer-Encoding: not decoded
}

// maxMIMEDepth bounds how deep multipart and message/rfc822 parts nest
// (each message/rfc822 level decodes its body once more).
const maxMIMEDepth = 16

// mimeParts parses the message's MIME structure once, descending into
// multipart and message/rfc822 parts (RFC 5173 §5.2, RFC 5703 §3).
func (m *message) mimeParts() []*mimePart {
	if m.partsDone {
		return m.partList
	}
	m.partsDone = true
	if p, ok := m.singlePart(); ok {
		m.partList = []*mimePart{p}
		return m.partList
	}
	m.walkMIME(m.all(), 0, -1)
	return m.partList
}

// walkMIME adds the entity raw (header and body) and its parts.
func (m *message) walkMIME(raw []byte, depth, parent int) {
	ent, err := gomessage.Read(bytes.NewReader(raw))
	if ent == nil || depth > maxMIMEDepth {
		return
	}
	p := &mimePart{depth: depth, parent: parent}
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
	idx := len(m.partList)
	m.partList = append(m.partList, p)
	if p.multi && params["boundary"] != "" {
		pro, parts, epi := splitMultipart(raw[bodyOffset(raw):], params["boundary"])
		p.body, p.epilog = pro, epi
		for _, sub := range parts {
			m.walkMIME(sub, depth+1, idx)
		}
		return
	}
	p.broken = gomessage.IsUnknownEncoding(err)
	b, _ := io.ReadAll(io.LimitReader(ent.Body, 16<<20))
	if p.ctype == "message/rfc822" {
		// Only the header is kept: the nested parts hold the rest.
		p.nested = string(b[:headerLen(b)])
		m.walkMIME(b, depth+1, idx)
		return
	}
	p.body = string(b)
}

// bodyOffset is where the body of an entity starts: after the empty
// line that ends its header (RFC 5322 §2.1).
func bodyOffset(raw []byte) int {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return 2
	}
	if bytes.HasPrefix(raw, []byte("\n")) {
		return 1
	}
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := bytes.Index(raw, []byte(sep)); i >= 0 {
			return i + len(sep)
		}
	}
	return len(raw)
}

// headerLen is the length of an entity's header without the empty line.
func headerLen(raw []byte) int {
	off := bodyOffset(raw)
	switch {
	case off == len(raw) && !bytes.HasSuffix(raw, []byte("\n\n")):
		return off
	case bytes.HasSuffix(raw[:off], []byte("\r\n\r\n")):
		return off - 2
	case off >= 1 && raw[off-1] == '\n':
		return off - 1
	}
	return off
}

// splitMultipart splits a multipart body at its boundary (RFC 2046
// §5.1.1): the prologue, the parts, the epilogue. The line break before
// a delimiter belongs to the delimiter.
func splitMultipart(body []byte, boundary string) (string, [][]byte, string) {
	delim := []byte("--" + boundary)
	var parts [][]byte
	pro, start := -1, -1
	for off := 0; off < len(body); {
		end := bytes.IndexByte(body[off:], '\n')
		next := len(body)
		if end >= 0 {
			next = off + end + 1
		}
		line := bytes.TrimRight(body[off:next], " \t\r\n")
		if bytes.HasPrefix(line, delim) {
			rest := line[len(delim):]
			if closing := bytes.Equal(rest, []byte("--")); closing || len(rest) == 0 {
				cut := trimBreak(body[:off])
				if start < 0 {
					pro = cut
				} else {
					parts = append(parts, body[start:cut])
				}
				if closing {
					return string(body[:max(pro, 0)]), parts, string(body[next:])
				}
				start = next
			}
		}
		off = next
	}
	if start >= 0 {
		parts = append(parts, body[start:])
	}
	return string(body[:max(pro, 0)]), parts, ""
}

// trimBreak is len(b) without the line break that ends b.
func trimBreak(b []byte) int {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
		if n > 0 && b[n-1] == '\r' {
			n--
		}
	}
	return n
}

// parts returns the decoded bodies of the parts whose content type
// matches one of types (RFC 5173 §5.2: "type" or "type/subtype", ""
// for all).
func (m *message) parts(types []string, text bool) []string {
	var out []string
	for _, p := range m.mimeParts() {
		if text {
			out = append(out, p.text()...)
			continue
		}
		for _, t := range types {
			if contentTypeMatches(p.ctype, strings.ToLower(t)) {
				out = append(out, p.content()...)
				break
			}
		}
	}
	return out
}

// content is what :content searches in a part (RFC 5173 §5.2): a
// multipart's prologue and epilogue, a message/rfc822's header, a leaf's
// decoded body.
func (p *mimePart) content() []string {
	switch {
	case p.multi:
		return []string{p.body, p.epilog}
	case p.ctype == "message/rfc822":
		return []string{p.nested}
	case p.broken:
		return nil
	}
	return []string{p.body}
}

// text is what :text searches in a part (RFC 5173 §5.3): the text of
// text/* parts, markup removed from HTML and XHTML.
func (p *mimePart) text() []string {
	switch {
	case p.broken || p.multi:
		return nil
	case p.ctype == "text/html" || p.ctype == "application/xhtml+xml":
		return []string{htmlText(p.body)}
	case strings.HasPrefix(p.ctype, "text/"):
		return []string{p.body}
	}
	return nil
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
