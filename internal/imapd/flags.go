package imapd

import (
	"slices"
	"strings"

	"facteur.dev/facteur/internal/imapd/imapwire"
)

// storeCmd: STORE and UID STORE, RFC 9051 §6.4.6, with UNCHANGEDSINCE
// (RFC 7162 §3.1.3), which the store checks in the transaction that
// changes the flags.
func (s *session) storeCmd(c *cmd) error {
	a, err := s.storeArgs()
	if err != nil {
		return err
	}
	if a.unchangedSince != nil {
		s.enableCondstore() // RFC 7162 §3.1
	}
	if err := s.refresh(c.uid); err != nil {
		return err
	}
	v := s.sel
	if v.readOnly {
		return no("READ-ONLY", "Mailbox is read-only")
	}
	idx, err := s.resolve(a.set, c.uid)
	if err != nil {
		return err
	}
	var uids []uint32
	for _, i := range idx {
		if !v.gone[v.uids[i]] {
			uids = append(uids, v.uids[i])
		}
	}
	modified, err := s.setFlags(uids, a)
	if err != nil {
		return err
	}
	for _, u := range uids { // finish sends these FETCH responses
		switch {
		case slices.Contains(modified, u):
		case a.silent && !s.condstore:
			delete(v.changed, u)
		default:
			v.changed[u] = true
		}
	}
	if len(modified) == 0 {
		return nil
	}
	if !c.uid { // MODIFIED lists what the command named: sequence numbers
		for k, u := range modified {
			i, _ := v.index(u)
			modified[k] = uint32(i + 1)
		}
	}
	return ok("MODIFIED "+imapwire.SeqSetOf(modified).String(), "Conditional STORE failed for some messages")
}

// setFlags changes the flags in the store and brings the view up to date;
// it returns the UIDs UNCHANGEDSINCE left alone.
func (s *session) setFlags(uids []uint32, a storeArgs) ([]uint32, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	v, st := s.sel, s.srv.opts.Store
	var modified []uint32
	var err error
	if a.unchangedSince != nil {
		_, modified, err = st.SetFlagsUnchangedSince(s.ctx, v.mb.ID, uids, a.flags, a.op, *a.unchangedSince)
	} else {
		_, err = st.SetFlags(s.ctx, v.mb.ID, uids, a.flags, a.op)
	}
	if err != nil {
		return nil, err
	}
	v.dirty = true
	return modified, s.sync()
}

// storeArgs are STORE's arguments.
type storeArgs struct {
	set            imapwire.SeqSet
	unchangedSince *uint64
	op             int // +1 add, -1 remove, 0 replace
	silent         bool
	flags          []string
}

// storeArgs reads sequence-set SP [modifiers SP] store-att-flags CRLF.
func (s *session) storeArgs() (storeArgs, error) {
	var a storeArgs
	var err error
	if err = s.dec.SP(); err != nil {
		return a, err
	}
	if a.set, err = s.dec.SeqSet(); err != nil {
		return a, err
	}
	if err = s.dec.SP(); err != nil {
		return a, err
	}
	if b, _ := s.dec.Peek(); b == '(' {
		err = s.dec.List(func() error {
			m, err := s.dec.Atom()
			if err != nil {
				return err
			}
			if !strings.EqualFold(m, "UNCHANGEDSINCE") {
				return bad("Unknown STORE modifier %s", m)
			}
			if err := s.dec.SP(); err != nil {
				return err
			}
			n, err := s.dec.Number64()
			a.unchangedSince = &n
			return err
		})
		if err != nil {
			return a, err
		}
		if err = s.dec.SP(); err != nil {
			return a, err
		}
	}
	item, err := s.dec.Atom()
	if err != nil {
		return a, err
	}
	if err := a.parseItem(strings.ToUpper(item)); err != nil {
		return a, err
	}
	if err = s.dec.SP(); err != nil {
		return a, err
	}
	if a.flags, err = s.flagList(); err != nil {
		return a, err
	}
	return a, s.dec.CRLF()
}

func (a *storeArgs) parseItem(item string) error {
	item, a.silent = strings.CutSuffix(item, ".SILENT")
	switch item {
	case "FLAGS":
	case "+FLAGS":
		a.op = 1
	case "-FLAGS":
		a.op = -1
	default:
		return bad("Unknown STORE item %s", item)
	}
	return nil
}

// flagList reads "(" flags ")" or flags separated by spaces (RFC 9051
// §9, store-att-flags), checks system flags and puts them in canonical
// case. \Recent cannot be set and is ignored.
func (s *session) flagList() ([]string, error) {
	var flags []string
	each := func() error {
		f, err := s.dec.Flag()
		if err != nil {
			return err
		}
		flags = append(flags, f)
		return nil
	}
	var err error
	if b, _ := s.dec.Peek(); b == '(' {
		err = s.dec.List(each)
	} else {
		err = each()
		for err == nil && s.dec.Consume(' ') {
			err = each()
		}
	}
	if err != nil {
		return nil, err
	}
	return canonicalFlags(flags)
}

func canonicalFlags(flags []string) ([]string, error) {
	out := flags[:0]
	for _, f := range flags {
		if !strings.HasPrefix(f, `\`) {
			out = append(out, f)
			continue
		}
		if strings.EqualFold(f, `\Recent`) {
			continue
		}
		k := slices.IndexFunc(systemFlags, func(sf string) bool { return strings.EqualFold(sf, f) })
		if k < 0 {
			return nil, bad("Invalid system flag %s", f)
		}
		out = append(out, systemFlags[k])
	}
	return out, nil
}
