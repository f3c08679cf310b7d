package sieve

import (
	"strings"
)

// Actions and their conflicts (RFC 5228 §4, §2.10; RFC 5429 §2.1).

func flagTags() []tagSpec {
	return []tagSpec{{name: "flags", param: pList, ext: "imap4flags"}}
}

type flagsData struct{ flags []*str }

func checkFlagsTag(c *checker, n *node) {
	if a, ok := n.tag("flags"); ok {
		n.data = &flagsData{flags: c.strs(a)}
	}
}

// actionFlags is the flags an action stores with: its :flags or the
// internal variable (RFC 5232 §5).
func (x *exec) actionFlags(n *node, d *flagsData) []string {
	if d != nil && d.flags != nil {
		return normalizeFlags(x.expandList(d.flags))
	}
	return cloneFlags(x.flags)
}

func runKeep(x *exec, n *node) (bool, error) {
	fd, _ := n.data.(*flagsData)
	x.keep = false // the explicit keep stands for the implicit one
	return true, x.add(n, Keep{Flags: x.actionFlags(n, fd), Header: x.editedHeader()})
}

func runDiscard(x *exec, n *node) (bool, error) {
	x.keep = false
	return true, nil
}

func checkRedirect(c *checker, n *node) {
	a := c.str1(n.pargs[0])
	if !a.dyn && !validAddress(a.s) {
		c.errorf(n.pargs[0].pos, "specified redirect address '"+a.s+"' is invalid")
	}
	n.data = a
}

// validAddress checks an RFC 5322 addr-spec, leniently.
func validAddress(s string) bool {
	raw := strings.TrimSpace(rawAddrSpec(s))
	i := strings.LastIndexByte(raw, '@')
	if i <= 0 || i == len(raw)-1 || strings.HasPrefix(raw, "\"") {
		return i > 0 && i < len(raw)-1
	}
	if !strings.Contains(s, "<") && strings.ContainsAny(s, "<>") {
		return false
	}
	// RFC 5322 §3.4.1: dot-atoms, white space only around the dots.
	for _, part := range []string{raw[:i], raw[i+1:]} {
		for _, atom := range strings.Split(part, ".") {
			atom = strings.TrimSpace(atom)
			if strings.ContainsAny(atom, " \t") || !isAtext(atom) {
				return false
			}
		}
	}
	return true
}

// isAtext: RFC 5322 §3.2.3 atext, ASCII only.
func isAtext(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || strings.IndexByte("()<>[]:;@\\,\"", c) >= 0 {
			return false
		}
	}
	return true
}

func runRedirect(x *exec, n *node) (bool, error) {
	addr := x.expand(n.data.(*str))
	if !validAddress(addr) {
		return false, runtimeErr(n, "specified redirect address '"+addr+"' is invalid")
	}
	_, cp := n.tag("copy")
	err := x.add(n, Redirect{Address: normalizeAddress(addrSpec(addr)), Header: x.editedHeader()})
	if !cp {
		x.keep = false
	}
	return true, err
}

func fileintoSpecs() []*spec {
	return []*spec{{name: "fileinto", tags: []tagSpec{
		{name: "copy", ext: "copy"}, {name: "flags", param: pList, ext: "imap4flags"},
		{name: "create", ext: "mailbox"}, {name: "specialuse", param: pString, ext: "special-use"},
		{name: "mailboxid", param: pString, ext: "mailboxid"}},
		pos: []posArg{{pString, "folder"}}, check: checkFileinto, run: runFileinto}}
}

type fileintoData struct {
	flagsData
	mailbox *str
}

func checkFileinto(c *checker, n *node) {
	d := &fileintoData{mailbox: c.str1(n.pargs[0])}
	if a, ok := n.tag("flags"); ok {
		d.flags = c.strs(a)
	}
	if !d.mailbox.dyn && !validMailbox(d.mailbox.s) {
		c.errorf(n.pargs[0].pos, "invalid folder name '"+d.mailbox.s+"' specified for fileinto command")
	}
	// RFC 8579 §4: the special-use flag is "\" atom (RFC 6154 §2).
	if a, ok := n.tag("specialuse"); ok {
		if u := c.str1(a); !u.dyn && !validSpecialUse(u.s) {
			c.errorf(a.pos, "invalid special-use flag '"+u.s+"' specified for fileinto command")
		}
	}
	n.data = d
}

func validMailbox(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r == 0xfffd || r < 0x20 {
			return false
		}
	}
	return true
}

func runFileinto(x *exec, n *node) (bool, error) {
	d := n.data.(*fileintoData)
	f := FileInto{Mailbox: x.expand(d.mailbox), Flags: x.actionFlags(n, &d.flagsData), Header: x.editedHeader()}
	if !validMailbox(f.Mailbox) {
		return false, runtimeErr(n, "invalid folder name '"+f.Mailbox+"' specified for fileinto command")
	}
	_, f.Create = n.tag("create")
	if a, ok := n.tag("specialuse"); ok {
		f.SpecialUse = a.str()
	}
	if a, ok := n.tag("mailboxid"); ok {
		f.MailboxID = a.str()
	}
	if err := x.add(n, f); err != nil {
		return false, err
	}
	if _, cp := n.tag("copy"); !cp {
		x.keep = false
	}
	return true, nil
}

func rejectSpecs() []*spec {
	return []*spec{{name: "reject", pos: []posArg{{pString, "reason"}}, check: checkReason, run: runReject}}
}

func erejectSpecs() []*spec {
	return []*spec{{name: "ereject", pos: []posArg{{pString, "reason"}}, check: checkReason, run: runReject}}
}

func checkReason(c *checker, n *node) { n.data = c.str1(n.pargs[0]) }

func runReject(x *exec, n *node) (bool, error) {
	err := x.add(n, Reject{Reason: x.expand(n.data.(*str)), Extended: n.name == "ereject"})
	x.keep = false
	return true, err
}

// add records an action, checking the limits and conflicts: reject
// excludes the actions that deliver the message (RFC 5429 §2.1);
// duplicates of keep, fileinto and redirect collapse (RFC 5228 §2.10.3).
func (x *exec) add(n *node, a Action) error {
	for i, old := range x.res.Actions {
		if msg := conflict(old, a); msg != "" {
			return runtimeErr(n, msg)
		}
		if merged, dup := sameAction(old, a); dup {
			x.res.Actions[i] = merged
			return nil
		}
	}
	if _, ok := a.(Redirect); ok {
		if x.count(Redirect{}) >= x.limits.Redirects {
			return runtimeErr(n, "number of redirect actions exceeds policy limit")
		}
	}
	if len(x.res.Actions) >= x.limits.Actions {
		return runtimeErr(n, "total number of actions exceeds policy limit")
	}
	x.res.Actions = append(x.res.Actions, a)
	return nil
}

func isDelivery(a Action) bool {
	switch a.(type) {
	case Keep, FileInto, Redirect:
		return true
	}
	return false
}

func conflict(old, a Action) string {
	_, r1 := old.(Reject)
	_, r2 := a.(Reject)
	switch {
	case r1 && r2:
		return "duplicate reject/ereject action not allowed"
	case r1 && isDelivery(a), r2 && isDelivery(old), r1 && isVacation(a), r2 && isVacation(old):
		return "reject action conflicts with other action: " + actionName(old) + " and " + actionName(a)
	}
	return ""
}

// sameAction returns the merge of two actions that are the same.
func sameAction(old, a Action) (Action, bool) {
	switch o := old.(type) {
	case Keep:
		// The last flag list wins (RFC 5232 §5).
		if n, ok := a.(Keep); ok {
			o.Flags = n.Flags
			o.Header = n.Header
			return o, true
		}
		if n, ok := a.(FileInto); ok && strings.EqualFold(n.Mailbox, "INBOX") && n.SpecialUse == "" && n.MailboxID == "" {
			o.Flags = n.Flags
			return o, true
		}
	case FileInto:
		if n, ok := a.(FileInto); ok && n.Mailbox == o.Mailbox {
			o.Flags = n.Flags
			o.Create = o.Create || n.Create
			return o, true
		}
		if n, ok := a.(Keep); ok && strings.EqualFold(o.Mailbox, "INBOX") {
			o.Flags = n.Flags
			return o, true
		}
	case Redirect:
		if n, ok := a.(Redirect); ok && strings.EqualFold(n.Address, o.Address) {
			return o, true
		}
	}
	return nil, false
}

func unionFlags(a, b []string) []string {
	out := cloneFlags(a)
	for _, f := range b {
		if !hasFlag(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func hasFlag(l []string, f string) bool {
	for _, g := range l {
		if strings.EqualFold(g, f) {
			return true
		}
	}
	return false
}

// actionName is the name Pigeonhole's result uses for an action.
func actionName(a Action) string {
	switch a := a.(type) {
	case Keep:
		return "keep"
	case FileInto:
		return "store"
	case Redirect:
		return "redirect"
	case Reject:
		if a.Extended {
			return "ereject"
		}
		return "reject"
	case Discard:
		return "discard"
	case Send:
		return a.Kind
	}
	return "unknown"
}

// count counts the actions of a's kind in the result.
func (x *exec) count(a Action) int {
	n := 0
	for _, o := range x.res.Actions {
		if actionName(o) == actionName(a) {
			n++
		}
	}
	return n
}

func isVacation(a Action) bool {
	s, ok := a.(Send)
	return ok && s.Kind == "vacation"
}

// normalizeAddress unquotes a quoted local part that needs no quotes
// (RFC 5322 §3.4.1: "Sirius"@example.net is Sirius@example.net).
func normalizeAddress(a string) string {
	i := strings.LastIndexByte(a, '@')
	if i < 2 || a[0] != '"' || a[i-1] != '"' {
		return a
	}
	local := a[1 : i-1]
	for _, atom := range strings.Split(local, ".") {
		if atom == "" || !isAtext(atom) {
			return a
		}
	}
	return local + a[i:]
}
