package arc

import "strings"

// folder writes a signature header field as tags, folding its lines
// before 76 characters (RFC 5322 §2.1.1, §2.2.3); folding white space
// is allowed between tags, around the colons of h= and inside b=
// (RFC 6376 §3.2, §3.5).
type folder struct {
	b    strings.Builder
	col  int
	tags int
}

func (f *folder) start(name string) {
	f.b.WriteString(name + ":")
	f.col = len(name) + 1
}

// put writes sep and s, or a fold and s when s would not fit.
func (f *folder) put(sep, s string) {
	if f.col+len(sep)+len(s) > 76 && f.col > 1 {
		f.b.WriteString("\r\n\t")
		f.col = 1
	} else {
		f.b.WriteString(sep)
		f.col += len(sep)
	}
	f.b.WriteString(s)
	f.col += len(s)
}

// tag starts a tag, after the ";" that ends the one before.
func (f *folder) tag(s string) {
	if f.tags > 0 {
		f.b.WriteString(";")
		f.col++
	}
	f.tags++
	f.put(" ", s)
}

// tagList writes each of ts as a tag.
func (f *folder) tagList(ts ...string) {
	for _, t := range ts {
		f.tag(t)
	}
}

// list writes the tag "name=a:b:c", folding after a colon.
func (f *folder) list(name string, items []string) {
	for i, it := range items {
		if i == 0 {
			f.tag(name + "=" + it)
			continue
		}
		f.b.WriteString(":")
		f.col++
		f.put("", it)
	}
}

// base64 writes a base64 value in pieces that fold where needed.
func (f *folder) base64(v string) {
	for len(v) > 0 {
		n := min(len(v), 4)
		f.put("", v[:n])
		v = v[n:]
	}
}

func (f *folder) String() string { return f.b.String() }
