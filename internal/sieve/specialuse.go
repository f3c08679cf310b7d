package sieve

// The special-use (RFC 8579), mailboxid (RFC 9042) and fcc (RFC 8580)
// extensions' tests; their tags are on fileinto, vacation and notify.

func specialUseSpecs() []*spec {
	return []*spec{{name: "specialuse_exists", test: true, pos: []posArg{{pString, "mailbox"}, {pList, "special-use-attrs"}}, opt: 1,
		check: checkSpecialUseExists, run: runSpecialUseExists}}
}

type specialUseData struct {
	mailbox *str // nil: any mailbox
	uses    []*str
}

func checkSpecialUseExists(c *checker, n *node) {
	d := &specialUseData{uses: c.strs(n.pargs[1])}
	if n.pargs[0] != nil {
		d.mailbox = c.str1(n.pargs[0])
	}
	for _, u := range d.uses {
		if !u.dyn && !validSpecialUse(u.s) {
			c.errorf(n.pargs[1].pos, "specialuse_exists test: invalid special-use flag '"+u.s+"'")
		}
	}
	n.data = d
}

// validSpecialUse: "\" atom (RFC 6154 §2).
func validSpecialUse(s string) bool {
	if len(s) < 2 || s[0] != '\\' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' || c == '\\' || c == ']' {
			return false
		}
	}
	return true
}

func runSpecialUseExists(x *exec, n *node) (bool, error) {
	d := n.data.(*specialUseData)
	if x.in.Mailboxes == nil {
		return false, nil
	}
	want := ""
	if d.mailbox != nil {
		want = x.expand(d.mailbox)
		if !x.in.Mailboxes.Exists(x.ctx, want) {
			return false, nil
		}
	}
	for _, u := range x.expandList(d.uses) {
		name, ok := x.in.Mailboxes.SpecialUse(x.ctx, u)
		if !ok || want != "" && name != want {
			return false, nil
		}
	}
	return true, nil
}

func mailboxIDSpecs() []*spec {
	return []*spec{{name: "mailboxidexists", test: true, pos: []posArg{{pList, "mailbox-ids"}},
		check: func(c *checker, n *node) { n.data = c.strs(n.pargs[0]) }, run: runMailboxIDExists}}
}

func runMailboxIDExists(x *exec, n *node) (bool, error) {
	if x.in.Mailboxes == nil {
		return false, nil
	}
	for _, id := range x.expandList(n.data.([]*str)) {
		if _, ok := x.in.Mailboxes.ByID(x.ctx, id); !ok {
			return false, nil
		}
	}
	return true, nil
}
