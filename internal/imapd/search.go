package imapd

import (
	"slices"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/imapd/imapwire"
)

// This file is the seam for package search (search keys, SORT, THREAD,
// ESEARCH): SEARCH and UID SEARCH here evaluate the keys the selected
// view can answer without reading messages — ALL, sequence sets, UID,
// the flag keys, KEYWORD/UNKEYWORD, NEW/OLD/RECENT, NOT, OR and
// parenthesised lists — and answer "* SEARCH" (IMAP4rev1) or "* ESEARCH"
// (IMAP4rev2, RFC 9051 §7.3.4) with RETURN (MIN MAX COUNT ALL SAVE).

// searchResult options, RFC 9051 §6.4.4.
type searchReturn struct {
	min, max, count, all, save bool
	explicit                   bool // RETURN was given
}

// search: SEARCH and UID SEARCH (RFC 9051 §6.4.4).
func (s *session) search(c *cmd) error {
	if err := s.dec.SP(); err != nil {
		return err
	}
	ret, err := s.searchReturn()
	if err != nil {
		return err
	}
	if a, _ := s.peekAtom(); strings.EqualFold(a, "CHARSET") {
		if _, err := s.dec.Atom(); err != nil {
			return err
		}
		if err := s.dec.SP(); err != nil {
			return err
		}
		cs, err := s.dec.AString()
		if err != nil {
			return err
		}
		if !strings.EqualFold(cs, "UTF-8") && !strings.EqualFold(cs, "US-ASCII") {
			return no("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset")
		}
		if err := s.dec.SP(); err != nil {
			return err
		}
	}
	var keys []matcher
	for {
		m, err := s.searchKey()
		if err != nil {
			return err
		}
		keys = append(keys, m)
		if !s.dec.Consume(' ') {
			break
		}
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	if err := s.refresh(c.uid); err != nil {
		return err
	}
	v := s.sel
	var hits []uint32 // sequence numbers or UIDs
	for i := range v.uids {
		if allMatch(keys, v, i) {
			if c.uid {
				hits = append(hits, v.uids[i])
			} else {
				hits = append(hits, uint32(i+1))
			}
		}
	}
	if ret.save {
		s.saved = s.saved[:0]
		for _, h := range hits {
			if c.uid {
				s.saved = append(s.saved, h)
			} else {
				s.saved = append(s.saved, v.uids[h-1])
			}
		}
	}
	s.writeSearch(c, ret, hits)
	return nil
}

// searchReturn reads "RETURN (" options ") SP" if present (RFC 4731,
// RFC 9051 §6.4.4).
func (s *session) searchReturn() (searchReturn, error) {
	var r searchReturn
	if a, _ := s.peekAtom(); !strings.EqualFold(a, "RETURN") {
		return r, nil
	}
	s.dec.Atom()
	r.explicit = true
	if err := s.dec.SP(); err != nil {
		return r, err
	}
	err := s.dec.List(func() error {
		a, err := s.dec.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "MIN":
			r.min = true
		case "MAX":
			r.max = true
		case "COUNT":
			r.count = true
		case "ALL":
			r.all = true
		case "SAVE":
			r.save = true
		default:
			return bad("Unknown RETURN option %s", a)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if !r.min && !r.max && !r.count && !r.all && !r.save {
		r.all = true // RFC 4731 §3.1: RETURN () means ALL
	}
	return r, s.dec.SP()
}

// peekAtom returns the next atom without consuming it, when the decoder
// can see it; it only needs to tell RETURN and CHARSET from search keys.
func (s *session) peekAtom() (string, bool) {
	b, err := s.dec.Peek()
	if err != nil || b != 'R' && b != 'r' && b != 'C' && b != 'c' {
		return "", false
	}
	return s.dec.PeekAtom(), true
}

// matcher tests message i of the view.
type matcher func(v *view, i int) bool

func allMatch(keys []matcher, v *view, i int) bool {
	for _, k := range keys {
		if !k(v, i) {
			return false
		}
	}
	return true
}

// flagKeys map search keys to a flag and whether it must be set.
var flagKeys = map[string]struct {
	flag string
	set  bool
}{
	"ANSWERED": {`\Answered`, true}, "UNANSWERED": {`\Answered`, false},
	"DELETED": {`\Deleted`, true}, "UNDELETED": {`\Deleted`, false},
	"DRAFT": {`\Draft`, true}, "UNDRAFT": {`\Draft`, false},
	"FLAGGED": {`\Flagged`, true}, "UNFLAGGED": {`\Flagged`, false},
	"SEEN": {`\Seen`, true}, "UNSEEN": {`\Seen`, false},
	"OLD": {`\Recent`, false}, "NEW": {`\Recent`, true}, "RECENT": {`\Recent`, true},
}

// searchKey reads one search key.
func (s *session) searchKey() (matcher, error) {
	b, err := s.dec.Peek()
	if err != nil {
		return nil, err
	}
	if b == '(' {
		var keys []matcher
		err := s.dec.List(func() error {
			k, err := s.searchKey()
			keys = append(keys, k)
			return err
		})
		return func(v *view, i int) bool { return allMatch(keys, v, i) }, err
	}
	if b >= '0' && b <= '9' || b == '*' || b == '$' {
		set, err := s.dec.SeqSet()
		return s.setMatcher(set, false), err
	}
	a, err := s.dec.Atom()
	if err != nil {
		return nil, err
	}
	return s.namedKey(strings.ToUpper(a))
}

func (s *session) namedKey(key string) (matcher, error) {
	if f, ok := flagKeys[key]; ok {
		return func(v *view, i int) bool { return v.has(i, f.flag) == f.set }, nil
	}
	switch key {
	case "ALL":
		return func(*view, int) bool { return true }, nil
	case "UID":
		if err := s.dec.SP(); err != nil {
			return nil, err
		}
		set, err := s.dec.SeqSet()
		return s.setMatcher(set, true), err
	case "KEYWORD", "UNKEYWORD":
		if err := s.dec.SP(); err != nil {
			return nil, err
		}
		kw, err := s.dec.Atom()
		want := key == "KEYWORD"
		return func(v *view, i int) bool { return v.has(i, kw) == want }, err
	case "NOT":
		if err := s.dec.SP(); err != nil {
			return nil, err
		}
		k, err := s.searchKey()
		return func(v *view, i int) bool { return !k(v, i) }, err
	case "OR":
		var ks [2]matcher
		for j := range ks {
			if err := s.dec.SP(); err != nil {
				return nil, err
			}
			var err error
			if ks[j], err = s.searchKey(); err != nil {
				return nil, err
			}
		}
		return func(v *view, i int) bool { return ks[0](v, i) || ks[1](v, i) }, nil
	}
	return nil, bad("Search key %s is not supported", key)
}

// setMatcher matches sequence numbers or UIDs; "$" is the saved result.
func (s *session) setMatcher(set imapwire.SeqSet, byUID bool) matcher {
	if set.Dollar {
		saved := slices.Clone(s.saved)
		return func(v *view, i int) bool { _, ok := slices.BinarySearch(saved, v.uids[i]); return ok }
	}
	if byUID {
		return func(v *view, i int) bool { return set.Contains(v.uids[i], v.lastUID()) }
	}
	return func(v *view, i int) bool { return set.Contains(uint32(i+1), uint32(len(v.uids))) }
}

// writeSearch answers with SEARCH (IMAP4rev1 without RETURN) or ESEARCH
// (RFC 4731 §3.1, RFC 9051 §7.3.4).
func (s *session) writeSearch(c *cmd, r searchReturn, hits []uint32) {
	if !s.rev2 && !r.explicit {
		b := []byte("* SEARCH")
		for _, h := range hits {
			b = append(b, ' ')
			b = strconv.AppendUint(b, uint64(h), 10)
		}
		s.enc.Bytes(append(b, "\r\n"...))
		return
	}
	if !r.explicit {
		r.all = true
	}
	s.enc.Raw(`* ESEARCH (TAG `).String(c.tag).Raw(")")
	if c.uid {
		s.enc.Raw(" UID")
	}
	if len(hits) > 0 {
		if r.min {
			s.enc.Raw(" MIN ").Number(hits[0])
		}
		if r.max {
			s.enc.Raw(" MAX ").Number(hits[len(hits)-1])
		}
		if r.all {
			s.enc.Raw(" ALL " + imapwire.SeqSetOf(hits).String())
		}
	}
	if r.count {
		s.enc.Raw(" COUNT ").Number(uint32(len(hits)))
	}
	s.enc.CRLF()
}
