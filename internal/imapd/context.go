package imapd

import (
	"slices"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/imapd/search"
)

// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4). The CONTEXT return
// option is a hint that PARTIAL requests will follow; every result is
// computed in full, so it changes nothing. UPDATE keeps the search live:
// whenever the view has moved (a new message, a flag change, an
// expunge), each live search of the session is run again over the view
// and the difference is sent as ESEARCH ADDTO and REMOVEFROM
// (RFC 5267 §4.3), after the EXISTS, EXPUNGE and FETCH responses of the
// same update. A live search ends with CANCELUPDATE (§4.4) or when
// another mailbox is selected or the mailbox is closed.

func init() {
	commands["CANCELUPDATE"] = handler{stateSelected, (*session).cancelUpdate, false}
	extensions = append(extensions, "CONTEXT=SEARCH", "CONTEXT=SORT")
}

// maxLiveSearches bounds the live searches of a session: each is run
// again over the whole mailbox at every change (RFC 5267 §4.3.1 lets the
// server refuse more with NOUPDATE).
const maxLiveSearches = 8

// liveSearch is a SEARCH or SORT with RETURN (UPDATE).
type liveSearch struct {
	tag    string
	q      *search.Command
	uids   []uint32    // the result the client knows, in result order
	cursor uint64      // the view's cursor when uids was computed
	fetch  []fetchItem // sent for messages added (RFC 5465 §7, notify.go)
}

// liveSearches are a session's live searches over one selected view.
type liveSearches struct {
	v    *view
	list []*liveSearch
}

// active returns the live searches of the selected view, dropping those
// of a mailbox no longer selected (RFC 5267 §4.3: contexts end with the
// mailbox's selection).
func (s *session) active() []*liveSearch {
	if s.live != nil && (s.sel == nil || s.live.v != s.sel) {
		s.live = nil
	}
	if s.live == nil {
		return nil
	}
	return s.live.list
}

// checkUpdate refuses UPDATE beyond the limit; it runs before the search.
func (s *session) checkUpdate(tag string) error {
	if len(s.active()) >= maxLiveSearches {
		return no(`NOUPDATE "`+tag+`"`, "Too many live searches, CANCELUPDATE one first")
	}
	return nil
}

// register makes a search live with its first result.
func (s *session) register(tag string, q *search.Command, res *search.Result) *liveSearch {
	ls := &liveSearch{tag: tag, q: q, uids: s.present(res.UIDs()), cursor: s.sel.cursor}
	list := slices.DeleteFunc(s.active(), func(o *liveSearch) bool { return o.tag == tag })
	s.live = &liveSearches{v: s.sel, list: append(list, ls)}
	return ls
}

// present drops the UIDs expunged in the store but not yet reported.
func (s *session) present(uids []uint32) []uint32 {
	if len(s.sel.gone) == 0 {
		return uids
	}
	return slices.DeleteFunc(uids, func(u uint32) bool { return s.sel.gone[u] })
}

// updateLive sends the changes of the live searches since the view last
// moved. It is called after update, so ADDTO follows the EXISTS that
// announced a message.
func (s *session) updateLive() {
	for _, ls := range s.active() {
		if ls.cursor == s.sel.cursor {
			continue
		}
		msgs, err := s.searchMsgs(ls.q)
		if err == nil {
			var res *search.Result
			res, err = ls.q.Run(msgs, search.Env{Text: s.textMatcher(msgs), Saved: s.saved})
			if err == nil {
				old := ls.uids
				b := ls.diff(s.present(res.UIDs()), nil)
				s.fetchAdded(old, ls.uids, ls.fetch)
				s.enc.Bytes(b)
				ls.cursor = s.sel.cursor
			}
		}
		if err != nil {
			s.log.Warn("imap live search", "tag", ls.tag, "err", err)
		}
	}
}

// diff records the new result and appends the ESEARCH responses that
// turn the old one into it (RFC 5267 §4.3.2–4.3.4). For SORT, each
// REMOVEFROM and ADDTO names the position of its message in the result
// as the client holds it after the previous ones; for SEARCH the
// position is 0 and one response carries every UID.
func (ls *liveSearch) diff(now []uint32, b []byte) []byte {
	old := ls.uids
	ls.uids = now
	inNow := make(map[uint32]bool, len(now))
	for _, u := range now {
		inNow[u] = true
	}
	inOld := make(map[uint32]bool, len(old))
	var removed, added []uint32
	for _, u := range old {
		inOld[u] = true
		if !inNow[u] {
			removed = append(removed, u)
		}
	}
	for _, u := range now {
		if !inOld[u] {
			added = append(added, u)
		}
	}
	if ls.q.Kind != search.Sort {
		if len(removed) > 0 {
			b = ls.appendItem(b, "REMOVEFROM", 0, imapwire.SeqSetOf(sorted(removed)).String())
		}
		if len(added) > 0 {
			b = ls.appendItem(b, "ADDTO", 0, imapwire.SeqSetOf(sorted(added)).String())
		}
		return b
	}
	pos := 0
	for _, u := range old {
		pos++
		if !inNow[u] {
			b = ls.appendItem(b, "REMOVEFROM", pos, strconv.FormatUint(uint64(u), 10))
			pos--
		}
	}
	for i, u := range now {
		if !inOld[u] {
			b = ls.appendItem(b, "ADDTO", i+1, strconv.FormatUint(uint64(u), 10))
		}
	}
	return b
}

func sorted(u []uint32) []uint32 { slices.Sort(u); return u }

// appendItem writes `* ESEARCH (TAG "t") UID item (pos set)`: updates
// always name UIDs (RFC 5267 §4.3.2).
func (ls *liveSearch) appendItem(b []byte, item string, pos int, set string) []byte {
	b = append(b, `* ESEARCH (TAG "`...)
	b = append(b, ls.tag...)
	b = append(b, `") UID `...)
	b = append(b, item...)
	b = append(b, " ("...)
	b = strconv.AppendInt(b, int64(pos), 10)
	b = append(b, ' ')
	b = append(b, set...)
	return append(b, ")\r\n"...)
}

// cancelUpdate: CANCELUPDATE "tag" *(SP "tag") (RFC 5267 §4.4).
func (s *session) cancelUpdate(c *cmd) error {
	var tags []string
	for {
		if err := s.dec.SP(); err != nil {
			return err
		}
		t, err := s.dec.String()
		if err != nil {
			return err
		}
		tags = append(tags, t)
		if s.dec.AtEnd() {
			break
		}
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	list := slices.Clone(s.active()) // a refused CANCELUPDATE changes nothing
	for _, t := range tags {
		i := slices.IndexFunc(list, func(ls *liveSearch) bool { return ls.tag == t })
		if i < 0 {
			return bad("No live search with tag %s", strings.ToValidUTF8(t, "?"))
		}
		list = slices.Delete(list, i, i+1)
	}
	if s.live != nil {
		s.live.list = list
	}
	return nil
}
