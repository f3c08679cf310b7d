package sieve

import (
	"mime"
	"strings"
)

// The editheader extension (RFC 5293).

func editheaderSpecs() []*spec {
	return []*spec{
		{name: "addheader", tags: []tagSpec{{name: "last"}}, pos: []posArg{{pString, "field name"}, {pString, "value"}},
			check: checkAddheader, run: runAddheader},
		{name: "deleteheader", match: true, tags: []tagSpec{{name: "index", param: pNumber}, {name: "last"}},
			pos: []posArg{{pString, "field name"}, {pList, "value patterns"}}, opt: -1,
			check: checkDeleteheader, run: runDeleteheader},
	}
}

type addheaderData struct {
	name, value *str
	maxSize     int // CompileOptions.MaxHeaderSize
}

func checkAddheader(c *checker, n *node) {
	d := &addheaderData{name: c.str1(n.pargs[0]), value: c.str1(n.pargs[1]), maxSize: c.opts.MaxHeaderSize}
	if d.maxSize <= 0 {
		d.maxSize = DefaultMaxHeaderSize
	}
	if !d.value.dyn && len(d.value.s) > d.maxSize {
		c.errorf(n.pargs[1].pos, headerTooLarge(len(d.value.s), d.maxSize))
	}
	if !d.name.dyn && !validFieldName(d.name.s) {
		c.errorf(n.pargs[0].pos, "addheader command: specified field name '"+d.name.s+"' is invalid")
	}
	if !d.value.dyn && !validFieldValue(d.value.s) {
		c.errorf(n.pargs[1].pos, "addheader command: specified value '"+d.value.s+"' is invalid")
	} else if !d.value.dyn && hasObsoleteCtl(d.value.s) {
		c.warnf(n.pargs[1].pos, "addheader command: specified value '"+d.value.s+"' contains obsolete control characters")
	}
	n.data = d
}

// hasObsoleteCtl: control characters other than NUL, CR, LF and TAB,
// which RFC 5322 §4.1 allows only as obs-NO-WS-CTL.
func hasObsoleteCtl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != 0 && c != '\t' && c != '\r' && c != '\n' && (c < 0x20 || c == 0x7f) {
			return true
		}
	}
	return false
}

func headerTooLarge(size, limit int) string {
	return "addheader command: specified header value is too large (" + itoa(size) + " bytes, more than " + itoa(limit) + ")"
}

// validFieldValue: no NUL; line breaks become folding (runAddheader).
func validFieldValue(s string) bool { return !strings.ContainsRune(s, 0) }

// foldValue turns the line breaks of a value into folding whitespace
// (RFC 5322 §2.2.3).
func foldValue(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	lines := strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' })
	for i := 1; i < len(lines); i++ {
		if lines[i][0] != ' ' && lines[i][0] != '\t' {
			lines[i] = " " + lines[i]
		}
	}
	return strings.Join(lines, "\r\n")
}

// protectedField: RFC 5293 §6 forbids changing Received and
// Auto-Submitted; the suite's configuration adds others.
func (x *exec) protectedField(name, op string) bool {
	l := strings.ToLower(name)
	if (l == "received" || l == "auto-submitted") && op == "delete" {
		return true // RFC 5293 §6; adding them is allowed
	}
	// Configured fields (the suite's Pigeonhole settings); Subject is
	// never protected.
	list, _ := x.hookConfig("sieve_editheader_header")
	for _, key := range strings.Fields(list) {
		if strings.EqualFold(key, name) && l != "subject" {
			v, _ := x.hookConfig("sieve_editheader_header/" + key + "/forbid_" + op)
			return v == "yes"
		}
	}
	return false
}

func (x *exec) startEdit(n *node) error {
	x.edits++
	if x.edits > x.limits.HeaderEdits {
		return runtimeErr(n, "number of header edits exceeds policy limit")
	}
	if x.edited == nil {
		x.edited = append([]*field{}, x.msg.header()...)
	}
	return nil
}

func runAddheader(x *exec, n *node) (bool, error) {
	d := n.data.(*addheaderData)
	name, value := x.expand(d.name), x.expand(d.value)
	if !validFieldName(name) || !validFieldValue(value) {
		return false, runtimeErr(n, "addheader command: specified field name '"+name+"' is invalid")
	}
	if len(value) > d.maxSize {
		return false, runtimeErr(n, headerTooLarge(len(value), d.maxSize))
	}
	if x.protectedField(name, "add") {
		return true, nil
	}
	if err := x.startEdit(n); err != nil {
		return false, err
	}
	f := &field{name: name, raw: " " + foldValue(encodeValue(value))}
	if _, last := n.tag("last"); last {
		x.edited = append(x.edited, f)
	} else {
		x.edited = append([]*field{f}, x.edited...)
	}
	return true, nil
}

// encodeValue encodes non-ASCII text as RFC 2047 words.
func encodeValue(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			return mime.QEncoding.Encode("utf-8", v)
		}
	}
	return v
}

type deleteheaderData struct {
	name  *str
	index int
}

func checkDeleteheader(c *checker, n *node) {
	d := &deleteheaderData{name: c.str1(n.pargs[0])}
	hd := &headerData{}
	if !c.index(n, hd) {
		return
	}
	d.index = hd.index
	if !d.name.dyn && !validFieldName(d.name.s) {
		c.errorf(n.pargs[0].pos, "deleteheader command: specified field name '"+d.name.s+"' is invalid")
	}
	n.data = d
	n.mt = c.newMatcher(n, n.pargs[1])
}

func runDeleteheader(x *exec, n *node) (bool, error) {
	d := n.data.(*deleteheaderData)
	name := x.expand(d.name)
	if x.protectedField(name, "delete") {
		return true, nil
	}
	if err := x.startEdit(n); err != nil {
		return false, err
	}
	var same []int
	for i, f := range x.edited {
		if strings.EqualFold(f.name, name) {
			same = append(same, i)
		}
	}
	drop := map[int]bool{}
	for k, i := range same {
		if d.index > 0 && k+1 != d.index || d.index < 0 && len(same)+d.index != k {
			continue
		}
		if n.mt.keys != nil {
			ok, err := n.mt.match(x, []string{decodeHeader(x.edited[i].value())})
			if err != nil {
				return false, err
			}
			if !ok {
				continue
			}
		}
		drop[i] = true
	}
	kept := x.edited[:0:0]
	for i, f := range x.edited {
		if !drop[i] {
			kept = append(kept, f)
		}
	}
	x.edited = kept
	return true, nil
}

// editedHeader is the header as edited, for an action (nil: unchanged).
func (x *exec) editedHeader() Edited {
	if x.edited == nil {
		return nil
	}
	var b strings.Builder
	for _, f := range x.edited {
		b.WriteString(f.name)
		b.WriteByte(':')
		b.WriteString(f.raw)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return Edited(b.String())
}

// size is the message's size as edited.
func (x *exec) size() uint64 {
	if x.edited == nil {
		return uint64(x.in.Size)
	}
	return uint64(len(x.editedHeader()) + len(x.msg.bodyBytes()))
}
