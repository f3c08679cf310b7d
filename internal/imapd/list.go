package imapd

import (
	"strings"

	"facteur.dev/facteur/internal/store"
)

// listArgs are LIST's arguments with the LIST-EXTENDED options (RFC 5258
// §3, RFC 9051 §6.3.9).
type listArgs struct {
	ref      string
	patterns []string
	// selection options
	subscribed, recursive, specialUse bool
	// return options
	retSubscribed, retChildren, retSpecialUse bool
	status                                    []string // RETURN (STATUS (...)), RFC 5819
}

// list: LIST (RFC 9051 §6.3.9, RFC 5258, RFC 6154, RFC 5819) and LSUB
// (RFC 3501 §6.3.9). Mailboxes are "/"-separated; every level of a name
// exists (CREATE makes the intermediate ones), so no mailbox is \Noselect.
func (s *session) list(c *cmd) error {
	a, err := s.listArgs(c.name == "LSUB")
	if err != nil {
		return err
	}
	if len(a.patterns) == 1 && a.patterns[0] == "" && c.name == "LIST" { // RFC 9051 §6.3.9: the separator
		s.untagged(`LIST (\Noselect) "/" ""`)
		return nil
	}
	mbs, err := s.srv.opts.Store.ListMailboxes(s.ctx, s.acct.ID)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, mb := range mbs {
		names[mb.Name] = true
	}
	subs, err := s.subscriptions(a, mbs) // subscriptions.go
	if err != nil {
		return err
	}
	for _, mb := range mbs {
		if !a.matches(mb.Name) {
			continue
		}
		childSub := a.subscribed && a.recursive && hasSubscribedChild(subs, mb.Name)
		if a.subscribed && !mb.Subscribed && !childSub || a.specialUse && mb.SpecialUse == "" {
			continue
		}
		if err := s.writeList(c.name, a, mb, hasChild(names, mb.Name), childSub); err != nil {
			return err
		}
	}
	s.listNonExistent(c.name, a, names, subs)
	return nil
}

func (s *session) writeList(name string, a *listArgs, mb store.Mailbox, children, childSub bool) error {
	var attrs []string
	if children {
		attrs = append(attrs, `\HasChildren`)
	} else {
		attrs = append(attrs, `\HasNoChildren`)
	}
	if mb.Subscribed && (a.subscribed || a.retSubscribed) && name == "LIST" {
		attrs = append(attrs, `\Subscribed`)
	}
	if mb.SpecialUse != "" && name == "LIST" {
		attrs = append(attrs, mb.SpecialUse) // RFC 6154 §2: sent with or without RETURN (SPECIAL-USE)
	}
	s.enc.Raw("* " + name + " (" + strings.Join(attrs, " ") + `) "/" `).AString(s.wireName(mb.Name))
	if childSub && a.recursive {
		s.enc.Raw(` ("CHILDINFO" ("SUBSCRIBED"))`) // RFC 5258 §3.5
	}
	s.enc.CRLF()
	if len(a.status) > 0 {
		return s.writeStatus(mb, a.status)
	}
	return nil
}

func hasChild(names map[string]bool, name string) bool {
	for n := range names {
		if strings.HasPrefix(n, name+"/") {
			return true
		}
	}
	return false
}

// hasSubscribedChild reports whether a subscribed name is below name.
func hasSubscribedChild(subs []string, name string) bool {
	for _, n := range subs {
		if strings.HasPrefix(n, name+"/") {
			return true
		}
	}
	return false
}

// listArgs reads [SP "(" selection ")"] SP ref SP patterns [SP RETURN
// "(" options ")"] CRLF.
func (s *session) listArgs(lsub bool) (*listArgs, error) {
	a := &listArgs{subscribed: lsub}
	if err := s.dec.SP(); err != nil {
		return nil, err
	}
	if b, _ := s.dec.Peek(); b == '(' && !lsub {
		if err := s.dec.List(a.selection(s)); err != nil {
			return nil, err
		}
		if err := s.dec.SP(); err != nil {
			return nil, err
		}
	}
	ref, err := s.mailboxPattern()
	if err != nil {
		return nil, err
	}
	a.ref = ref
	if err := s.dec.SP(); err != nil {
		return nil, err
	}
	if b, _ := s.dec.Peek(); b == '(' && !lsub {
		err = s.dec.List(func() error {
			p, err := s.mailboxPattern()
			a.patterns = append(a.patterns, p)
			return err
		})
	} else {
		var p string
		p, err = s.mailboxPattern()
		a.patterns = append(a.patterns, p)
	}
	if err != nil {
		return nil, err
	}
	if !lsub && s.dec.Consume(' ') {
		if err := a.returnOptions(s); err != nil {
			return nil, err
		}
	}
	if a.recursive && !a.subscribed {
		return nil, bad("RECURSIVEMATCH needs another selection option") // RFC 5258 §3.1
	}
	return a, s.dec.CRLF()
}

// mailboxPattern reads a list-mailbox and decodes it like a mailbox name.
func (s *session) mailboxPattern() (string, error) {
	raw, err := s.dec.ListMailbox()
	if err != nil {
		return "", err
	}
	return s.decodeName(raw)
}

func (a *listArgs) selection(s *session) func() error {
	return func() error {
		o, err := s.dec.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(o) {
		case "SUBSCRIBED":
			a.subscribed = true
		case "RECURSIVEMATCH":
			a.recursive = true
		case "SPECIAL-USE":
			a.specialUse = true
		case "REMOTE": // no remote mailboxes
		default:
			return bad("Unknown LIST selection option %s", o)
		}
		return nil
	}
}

func (a *listArgs) returnOptions(s *session) error {
	kw, err := s.dec.Atom()
	if err != nil {
		return err
	}
	if !strings.EqualFold(kw, "RETURN") {
		return bad("Expected RETURN")
	}
	if err := s.dec.SP(); err != nil {
		return err
	}
	return s.dec.List(func() error {
		o, err := s.dec.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(o) {
		case "SUBSCRIBED":
			a.retSubscribed = true
		case "CHILDREN":
			a.retChildren = true
		case "SPECIAL-USE":
			a.retSpecialUse = true
		case "STATUS":
			if err := s.dec.SP(); err != nil {
				return err
			}
			a.status, err = s.statusItems()
			return err
		default:
			return bad("Unknown LIST return option %s", o)
		}
		return nil
	})
}

// matches reports whether name matches one of the patterns, each
// prefixed by the reference (RFC 9051 §6.3.9). "INBOX" is matched
// case-insensitively.
func (a *listArgs) matches(name string) bool {
	for _, p := range a.patterns {
		if match(canonicalInbox(a.ref+p), name) {
			return true
		}
	}
	return false
}

// match is glob matching where "*" matches anything and "%" anything but
// the separator, by dynamic programming: O(len(pattern)·len(name)),
// whatever the pattern.
func match(pattern, name string) bool {
	prev := make([]bool, len(name)+1)
	cur := make([]bool, len(name)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		pc := pattern[i]
		cur[0] = prev[0] && (pc == '*' || pc == '%')
		for j := 1; j <= len(name); j++ {
			switch pc {
			case '*':
				cur[j] = prev[j] || cur[j-1]
			case '%':
				cur[j] = prev[j] || cur[j-1] && name[j-1] != '/'
			default:
				cur[j] = prev[j-1] && name[j-1] == pc
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(name)]
}
