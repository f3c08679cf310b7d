package imapd

import (
	"slices"
	"strconv"
)

// \Recent (RFC 3501 §2.3.2, §6.3.1, §7.3.2): a message is recent in the
// one session that was first told of it, for as long as that session
// keeps the mailbox selected. The store hands messages out
// (store.Mail.ClaimRecent): a session that selects a mailbox read-write
// claims what no one claimed before, and claims again each time it
// learns of new messages (takeRecent, before the EXISTS), so of two
// sessions selected on a mailbox the one that syncs first gets a new
// message, as in Dovecot. A read-only session (EXAMINE) claims nothing:
// the unclaimed messages are recent to it and stay so for the next
// session that selects the mailbox (RFC 3501 §6.3.2). Messages that
// arrive by COPY, MOVE or APPEND are new, so recent, like delivered
// ones.
//
// An IMAP4rev2 session (RFC 9051 removed \Recent) claims as a rev1 one
// does, so a rev1 session selecting later sees the same messages as not
// recent, but it is shown nothing: no RECENT response, no \Recent in
// FLAGS, and SEARCH RECENT and NEW match nothing (OLD everything).
// \Recent cannot be set or cleared by STORE or APPEND (RFC 3501 §2.3.2):
// canonicalFlags drops it.

// uidSpan is the UIDs lo <= uid < hi.
type uidSpan struct{ lo, hi uint32 }

// takeRecent decides which of the view's messages not yet decided are
// recent to this session: those it claims from the store, or for a
// read-only session those no one has claimed. It runs on SELECT and
// before each update reports new messages.
func (s *session) takeRecent() error {
	v := s.sel
	below := v.lastUID() + 1
	if below <= v.recentTo {
		return nil
	}
	var from, to uint32
	switch {
	case v.readOnly:
		from, to = max(v.mb.FirstRecent, v.recentTo), below
	case v.mb.FirstRecent < below: // else none is left to claim
		var err error
		if from, to, err = s.srv.opts.Store.ClaimRecent(s.ctx, v.mb.ID, below); err != nil {
			return err
		}
		from = max(from, v.recentTo)
	}
	v.recentTo = below
	if from >= to {
		return nil
	}
	if n := len(v.recent); n > 0 && v.recent[n-1].hi == from {
		v.recent[n-1].hi = to
	} else {
		v.recent = append(v.recent, uidSpan{from, to})
	}
	return nil
}

// isRecent reports whether message i is recent in this session.
func (v *view) isRecent(i int) bool {
	if len(v.recent) == 0 {
		return false
	}
	uid := v.uids[i]
	k, _ := slices.BinarySearchFunc(v.recent, uid, func(sp uidSpan, u uint32) int {
		switch {
		case sp.hi <= u:
			return -1
		case sp.lo > u:
			return 1
		}
		return 0
	})
	return k < len(v.recent) && v.recent[k].lo <= uid && uid < v.recent[k].hi
}

// recentCount counts the view's recent messages.
func (v *view) recentCount() int {
	n := 0
	for _, sp := range v.recent {
		lo, _ := slices.BinarySearch(v.uids, sp.lo)
		hi, _ := slices.BinarySearch(v.uids, sp.hi)
		n += hi - lo
	}
	return n
}

// shownRecent reports whether message i shows as \Recent to the client.
func (s *session) shownRecent(i int) bool { return !s.rev2 && s.sel.isRecent(i) }

// reportRecent sends "* N RECENT" when the count changed since the
// last one (RFC 3501 §7.3.2): after new messages, and after expunges of
// recent ones, so the client's count matches its messages.
func (s *session) reportRecent() {
	v := s.sel
	if s.rev2 {
		return
	}
	if n := v.recentCount(); n != v.recentSent {
		v.recentSent = n
		s.untagged(strconv.Itoa(n) + " RECENT")
	}
}

// appendFlags appends message i's flag list, with \Recent first when
// the message is recent in this session.
func (s *session) appendFlags(b []byte, i int) []byte {
	v := s.sel
	w := v.sets[v.flags[i]].wire
	if !s.shownRecent(i) {
		return append(b, w...)
	}
	if w == "()" {
		return append(b, `(\Recent)`...)
	}
	b = append(b, `(\Recent `...)
	return append(b, w[1:]...)
}
