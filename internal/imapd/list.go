package imapd

import (
	"errors"
	"slices"
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
// (RFC 3501 §6.3.9). Mailboxes are "/"-separated; the levels above a
// mailbox that are not mailboxes are \Noselect (hierarchy.go).
func (s *session) list(c *cmd) error {
	a, err := s.listArgs(c.name == "LSUB")
	if err != nil {
		return err
	}
	if slices.Contains(a.status, "HIGHESTMODSEQ") {
		s.enableCondstore() // RFC 7162 §3.1, as STATUS (HIGHESTMODSEQ)
	}
	if len(a.patterns) == 1 && a.patterns[0] == "" && c.name == "LIST" { // RFC 9051 §6.3.9: the separator
		s.untagged(`LIST (\Noselect) "/" ""`)
		return nil
	}
	mbs, err := s.srv.opts.Store.ListMailboxes(s.ctx, s.acct.ID)
	if err != nil {
		return err
	}
	h := newHierarchy(mbs)
	subs, err := s.subscriptions(a, mbs) // subscriptions.go
	if err != nil {
		return err
	}
	if a.subscribed {
		return s.listSubscribed(c.name, a, h, subs)
	}
	subscribed := nameSet(subs)
	for _, name := range h.names {
		mb, isMailbox := h.mailboxes[name]
		if !a.matches(name) || a.specialUse && mb.SpecialUse == "" {
			continue
		}
		e := listEntry{name: name, noselect: !isMailbox, children: h.parents[name],
			subscribed: a.retSubscribed && subscribed[name]}
		if isMailbox {
			e.mb = &mb
		}
		if err := s.writeList(c.name, a, e); err != nil {
			return err
		}
	}
	return nil
}

// listEntry is one LIST or LSUB response.
type listEntry struct {
	name        string
	mb          *store.Mailbox // nil when the name is not a mailbox
	noselect    bool           // a level without a mailbox, or LSUB's level above a subscription
	nonexistent bool           // neither a mailbox nor a level (RFC 5258 §3.4)
	children    bool           // mailboxes below it (RFC 3348, RFC 5258 §4)
	subscribed  bool           // \Subscribed is shown (RFC 5258 §3.4)
	childInfo   bool           // "CHILDINFO" ("SUBSCRIBED") (RFC 5258 §3.5)
}

func (s *session) writeList(cmdName string, a *listArgs, e listEntry) error {
	var attrs []string
	switch {
	case e.nonexistent && cmdName == "LSUB":
		attrs = append(attrs, `\Noselect`) // RFC 3501 §6.3.9
	case e.nonexistent:
		attrs = append(attrs, `\NonExistent`) // implies \Noselect (RFC 5258 §3.4)
	case e.noselect:
		attrs = append(attrs, `\Noselect`)
	}
	switch {
	case e.nonexistent:
	case e.children:
		attrs = append(attrs, `\HasChildren`)
	case !e.noselect:
		attrs = append(attrs, `\HasNoChildren`)
	}
	if e.subscribed && cmdName == "LIST" {
		attrs = append(attrs, `\Subscribed`)
	}
	if e.mb != nil && e.mb.SpecialUse != "" && cmdName == "LIST" {
		attrs = append(attrs, e.mb.SpecialUse) // RFC 6154 §2: sent with or without RETURN (SPECIAL-USE)
	}
	s.enc.Raw("* " + cmdName + " (" + strings.Join(attrs, " ") + `) "/" `).AString(s.wireName(e.name))
	if e.childInfo {
		s.enc.Raw(` ("CHILDINFO" ("SUBSCRIBED"))`) // RFC 5258 §3.5
	}
	s.enc.CRLF()
	if len(a.status) > 0 && e.mb != nil && !e.noselect { // RFC 5819 §2: not for \Noselect names
		return s.writeStatus(*e.mb, a.status)
	}
	return nil
}

func nameSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
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
	ref, refOK, err := s.mailboxPattern()
	if err != nil {
		return nil, err
	}
	a.ref = ref
	if err := s.dec.SP(); err != nil {
		return nil, err
	}
	if b, _ := s.dec.Peek(); b == '(' && !lsub {
		err = s.dec.List(a.readPattern(s))
	} else {
		err = a.readPattern(s)()
	}
	if err != nil {
		return nil, err
	}
	if !refOK {
		a.patterns = nil
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

// mailboxPattern reads a list-mailbox and decodes it like a mailbox
// name. One that is not modified UTF-7 is not an error: it names no
// mailbox, so it matches none (ok false; RFC 3501 §5.1.3).
func (s *session) mailboxPattern() (p string, ok bool, err error) {
	raw, err := s.dec.ListMailbox()
	if err != nil {
		return "", false, err
	}
	p, err = s.decodeName(raw)
	if errors.Is(err, errInvalidName) {
		return "", false, nil
	}
	return p, err == nil, err
}

// readPattern returns a reader of one pattern into a.patterns, leaving
// out those that match nothing.
func (a *listArgs) readPattern(s *session) func() error {
	return func() error {
		p, ok, err := s.mailboxPattern()
		if ok {
			a.patterns = append(a.patterns, p)
		}
		return err
	}
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
