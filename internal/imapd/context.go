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
// and the difference is sent as ESEARCH REMOVEFROM, before the EXPUNGE
// responses of the same update, and ADDTO, after its EXISTS (RFC 5267
// §4.3): by UID for UID SEARCH and UID SORT, else by sequence number. A
// live search ends with CANCELUPDATE (§4.4) or when another mailbox is
// selected or the mailbox is closed.

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
	uid    bool        // UID SEARCH or UID SORT: updates name UIDs
	added  []posUID    // found by liveRemovals, for updateLive
	prev   []uint32    // the result before added
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

// liveRemovals runs the live searches again when the view has moved and
// sends their REMOVEFROM; the ADDTO wait for updateLive. It is called
// before update, so that a removal by sequence number names the message
// before an EXPUNGE renumbers the others, and updateLive after it, so
// that ADDTO follows the EXISTS that announced a message.
func (s *session) liveRemovals() {
	for _, ls := range s.active() {
		if ls.cursor == s.sel.cursor {
			continue
		}
		msgs, err := s.searchMsgs(ls.q)
		if err == nil {
			var res *search.Result
			res, err = ls.q.Run(msgs, search.Env{Text: s.textMatcher(msgs), Saved: s.saved})
			if err == nil {
				ls.prev = ls.uids
				var removed []posUID
				removed, ls.added = ls.diff(s.present(res.UIDs()))
				s.enc.Bytes(s.appendLive(nil, ls, "REMOVEFROM", removed))
				ls.cursor = s.sel.cursor
			}
		}
		if err != nil {
			s.log.Warn("imap live search", "tag", ls.tag, "err", err)
		}
	}
}

// updateLive sends the ADDTO that liveRemovals found.
func (s *session) updateLive() {
	for _, ls := range s.active() {
		if ls.added == nil {
			continue
		}
		s.fetchAdded(ls.prev, ls.uids, ls.fetch)
		s.enc.Bytes(s.appendLive(nil, ls, "ADDTO", ls.added))
		ls.added, ls.prev = nil, nil
	}
}

// posUID is a message added to or removed from a live result, at a
// position of the result (RFC 5267 §4.3.3, §4.3.4).
type posUID struct {
	pos int
	uid uint32
}

// diff records the new result and returns what turns the old one into
// it. For SORT, each removal names the position of its message in the
// result as the client holds it after the previous removals, each
// addition the position it takes after the previous additions; for
// SEARCH the position is 0 (RFC 5267 §4.3.2).
func (ls *liveSearch) diff(now []uint32) (removed, added []posUID) {
	old := ls.uids
	ls.uids = now
	inNow := make(map[uint32]bool, len(now))
	for _, u := range now {
		inNow[u] = true
	}
	inOld := make(map[uint32]bool, len(old))
	sorted := ls.q.Kind == search.Sort
	pos := 0
	for _, u := range old {
		inOld[u] = true
		pos++
		if !inNow[u] {
			removed = append(removed, posUID{pos, u})
			pos--
		}
	}
	for i, u := range now {
		if !inOld[u] {
			added = append(added, posUID{i + 1, u})
		}
	}
	if !sorted {
		for i := range removed {
			removed[i].pos = 0
		}
		for i := range added {
			added[i].pos = 0
		}
	}
	return removed, added
}

// appendLive writes `* ESEARCH (TAG "t") [UID] item (pos set)`: UIDs for
// a UID SEARCH or UID SORT, else sequence numbers as the client knows
// them now (RFC 5267 §4.3.2). SEARCH sends one set at position 0, SORT
// one response per message.
func (s *session) appendLive(b []byte, ls *liveSearch, item string, list []posUID) []byte {
	num := func(u uint32) (uint32, bool) {
		if ls.uid {
			return u, true
		}
		i, ok := s.sel.index(u)
		return uint32(i + 1), ok
	}
	if ls.q.Kind != search.Sort {
		var nums []uint32
		for _, p := range list {
			if n, ok := num(p.uid); ok {
				nums = append(nums, n)
			}
		}
		if len(nums) == 0 {
			return b
		}
		slices.Sort(nums)
		return ls.appendItem(b, item, 0, string(imapwire.AppendSeqList(nil, nums)))
	}
	for _, p := range list {
		if n, ok := num(p.uid); ok {
			b = ls.appendItem(b, item, p.pos, strconv.FormatUint(uint64(n), 10))
		}
	}
	return b
}

// appendItem writes one ESEARCH update response.
func (ls *liveSearch) appendItem(b []byte, item string, pos int, set string) []byte {
	b = append(b, `* ESEARCH (TAG "`...)
	b = append(b, ls.tag...)
	b = append(b, `")`...)
	if ls.uid {
		b = append(b, " UID"...)
	}
	b = append(b, ' ')
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
