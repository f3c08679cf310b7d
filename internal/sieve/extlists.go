package sieve

import (
	"context"
	"strings"
)

// The extlists extension (RFC 6134): the :list match type and the
// valid_ext_list test, answered by Input.Lists.

// Lists answers extlists' questions. List names are URIs; the
// ":addrbook:default" shorthand reaches it as
// "urn:ietf:params:sieve:addrbook:default" (RFC 6134 §2.3).
type Lists interface {
	Valid(ctx context.Context, list string) bool
	Contains(ctx context.Context, list, value string) (bool, error)
}

func extlistsSpecs() []*spec {
	return []*spec{{name: "valid_ext_list", test: true, pos: []posArg{{pList, "ext-list-names"}},
		check: func(c *checker, n *node) { n.data = c.strs(n.pargs[0]) }, run: runValidExtList}}
}

// listURI expands the shorthand; ok is false for a name that is not a
// URI.
func listURI(name string) (string, bool) {
	if strings.HasPrefix(name, ":") {
		return "urn:ietf:params:sieve" + name, true
	}
	scheme, rest, ok := strings.Cut(name, ":")
	if !ok || scheme == "" || rest == "" || !isAlpha(scheme[0]) {
		return "", false
	}
	return name, scheme == "urn" || scheme == "tag" || strings.Contains(rest, "/")
}

// checkLists checks the constant list names of a :list match against
// CompileOptions.Lists: an unsupported list is an error (RFC 6134 §2.4).
func (c *checker) checkLists(n *node, what string) {
	if c.opts.Lists == nil || n.mt == nil || n.mt.mt != mList {
		return
	}
	for _, k := range n.mt.keys {
		if k.dyn {
			continue
		}
		if uri, ok := listURI(k.s); !ok || !c.opts.Lists.Valid(context.Background(), uri) {
			c.errorf(n.pos, what+": list '"+k.s+"' is not supported")
		}
	}
}

func runValidExtList(x *exec, n *node) (bool, error) {
	for _, l := range x.expandList(n.data.([]*str)) {
		uri, ok := listURI(l)
		if !ok || x.in.Lists == nil || !x.in.Lists.Valid(x.ctx, uri) {
			return false, nil
		}
	}
	return true, nil
}

// matchList is the :list match type: a value matches when it is on one of
// the lists; ${0} is the value (RFC 6134 §2.4).
func (m *matcher) matchList(x *exec, values []string) (bool, error) {
	if x.in.Lists == nil {
		return false, nil
	}
	for _, k := range m.keys {
		uri, ok := listURI(x.expand(k))
		if !ok {
			continue
		}
		for _, v := range values {
			if err := x.step(); err != nil {
				return false, err
			}
			found, err := x.in.Lists.Contains(x.ctx, uri, v)
			if err != nil {
				return false, runtimeErr(x.cur, "extlists: "+err.Error())
			}
			if found {
				x.setMatch([]string{v})
				return true, nil
			}
		}
	}
	return false, nil
}
