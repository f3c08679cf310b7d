package sieve

import (
	"context"
	"strings"
)

// The mboxmetadata and servermetadata extensions (RFC 5490 §3.2–3.4):
// tests on the IMAP METADATA annotations (RFC 5464) of a mailbox and of
// the server, answered by Input.Metadata.

// Metadata answers the metadata tests. Mailbox "" is the server's
// annotations; names are RFC 5464 entry names ("/private/comment").
type Metadata interface {
	Metadata(ctx context.Context, mailbox, name string) (value string, ok bool)
}

func mboxMetadataSpecs() []*spec {
	return []*spec{
		{name: "metadata", test: true, match: true, pos: []posArg{{pString, "mailbox"}, {pString, "annotation-name"}, {pList, "key-list"}},
			check: checkMetadata, run: runMetadata},
		{name: "metadataexists", test: true, pos: []posArg{{pString, "mailbox"}, {pList, "annotation-names"}},
			check: checkMetadataExists, run: runMetadataExists},
	}
}

func serverMetadataSpecs() []*spec {
	return []*spec{
		{name: "servermetadata", test: true, match: true, pos: []posArg{{pString, "annotation-name"}, {pList, "key-list"}},
			check: checkMetadata, run: runMetadata},
		{name: "servermetadataexists", test: true, pos: []posArg{{pList, "annotation-names"}},
			check: checkMetadataExists, run: runMetadataExists},
	}
}

// metadataData are a metadata test's arguments; mailbox is nil for the
// server's annotations.
type metadataData struct {
	mailbox *str
	names   []*str
}

func checkMetadata(c *checker, n *node) {
	d := &metadataData{}
	args := n.pargs
	if n.name == "metadata" {
		d.mailbox, args = c.str1(args[0]), args[1:]
	}
	d.names = []*str{c.str1(args[0])}
	n.data = d
	n.mt = c.newMatcher(n, args[1])
}

func checkMetadataExists(c *checker, n *node) {
	d := &metadataData{}
	args := n.pargs
	if n.name == "metadataexists" {
		d.mailbox, args = c.str1(args[0]), args[1:]
	}
	d.names = c.strs(args[0])
	n.data = d
}

// metadataValue looks an annotation up; a name that is not an entry
// name (RFC 5464 §3.2: under /private or /shared) or a mailbox name that
// is not UTF-8 has no value.
func (x *exec) metadataValue(d *metadataData, name string) (string, bool) {
	if x.in.Metadata == nil || !validEntryName(name) {
		return "", false
	}
	mailbox := ""
	if d.mailbox != nil {
		mailbox = x.expand(d.mailbox)
		if !validMailbox(mailbox) {
			return "", false
		}
	}
	return x.in.Metadata.Metadata(x.ctx, mailbox, name)
}

// validEntryName: "/private/…" or "/shared/…", no empty component
// (RFC 5464 §3.2).
func validEntryName(s string) bool {
	rest, ok := strings.CutPrefix(s, "/private/")
	if !ok {
		rest, ok = strings.CutPrefix(s, "/shared/")
	}
	if !ok || rest == "" || strings.Contains(rest, "//") || strings.HasSuffix(rest, "/") {
		return false
	}
	return !strings.ContainsAny(rest, "*%")
}

// runMetadata matches the annotation's value; a missing one matches
// nothing (RFC 5490 §3.3, §3.4).
func runMetadata(x *exec, n *node) (bool, error) {
	d := n.data.(*metadataData)
	v, ok := x.metadataValue(d, x.expand(d.names[0]))
	if !ok {
		return false, nil
	}
	return n.mt.match(x, []string{v})
}

// runMetadataExists: every annotation named exists (RFC 5490 §3.2).
func runMetadataExists(x *exec, n *node) (bool, error) {
	d := n.data.(*metadataData)
	for _, name := range x.expandList(d.names) {
		if _, ok := x.metadataValue(d, name); !ok {
			return false, nil
		}
	}
	return true, nil
}
