package imapd

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/store"
)

// view is a session's picture of its selected mailbox: what the client
// has been told, with sequence number i+1 at index i. It holds 16 bytes
// per message (UID, MODSEQ, an index into the distinct flag sets), so a
// 100,000-message mailbox costs 1.6 MB per session that selects it.
//
// The view follows the store from cursor, the MODSEQ up to which it has
// seen every change. sync reads the changes since (ChangedSince and
// Vanished) when a Watch wake-up says the mailbox changed; update
// reports them. Messages expunged in the store stay in the view (in
// gone) until an EXPUNGE may be sent (RFC 9051 §7.5.1), so sequence
// numbers never move under a command by sequence number.
type view struct {
	mb       store.Mailbox
	readOnly bool

	uids   []uint32
	modseq []uint64
	flags  []uint32 // index into sets

	sets   []flagSet
	setIdx map[string]uint32 // flags joined by " " → index in sets
	used   []string          // every flag of sets, once, in the order first seen

	cursor  uint64
	gone    map[uint32]bool // expunged in the store, not yet reported
	changed map[uint32]bool // flags (or MODSEQ) changed, FETCH not yet sent
	known   int             // messages the client knows of (last EXISTS)
	dirty   bool            // a wake-up arrived: sync must ask the store

	// The flags of the last FLAGS response (system flags, then keywords
	// in the order they were announced), and the same as a set: a
	// keyword is sent in a FETCH only once FLAGS named it (announce).
	flagList []string
	inFlags  map[string]bool

	// \Recent, RFC 3501 §2.3.2 (recent.go): the UIDs recent in this
	// session, the UID below which recency is decided, and the count
	// last sent in a RECENT response (-1: none yet).
	recent     []uidSpan
	recentTo   uint32
	recentSent int
}

// flagSet is one distinct set of flags and its wire form.
type flagSet struct {
	flags []string
	wire  string // "(\Seen $Label1)"
	// inFlags: each of its keywords was in a FLAGS response this session
	// sent (announce).
	inFlags bool
}

func newView(mb store.Mailbox, states []store.MessageState, readOnly bool) *view {
	n := len(states)
	v := &view{mb: mb, readOnly: readOnly, uids: make([]uint32, n), modseq: make([]uint64, n),
		flags: make([]uint32, n), sets: []flagSet{{wire: "()"}}, setIdx: map[string]uint32{"": 0},
		cursor: mb.HighestModSeq, gone: map[uint32]bool{}, changed: map[uint32]bool{}, known: n, dirty: true,
		recentSent: -1}
	byPtr := map[*string]uint32{} // the store shares equal flag slices
	for i, st := range states {
		v.uids[i], v.modseq[i] = st.UID, st.ModSeq
		if len(st.Flags) == 0 {
			continue
		}
		k, ok := byPtr[&st.Flags[0]]
		if !ok {
			k = v.intern(st.Flags)
			byPtr[&st.Flags[0]] = k
		}
		v.flags[i] = k
	}
	return v
}

// intern returns the index of a flag set, adding it if new.
func (v *view) intern(flags []string) uint32 {
	key := strings.Join(flags, " ")
	if k, ok := v.setIdx[key]; ok {
		return k
	}
	k := uint32(len(v.sets))
	v.sets = append(v.sets, flagSet{flags: slices.Clone(flags), wire: "(" + key + ")"})
	v.setIdx[key] = k
	for _, f := range flags {
		if !slices.Contains(v.used, f) {
			v.used = append(v.used, f)
		}
	}
	return k
}

// index returns the index of uid in the view.
func (v *view) index(uid uint32) (int, bool) { return slices.BinarySearch(v.uids, uid) }

// has reports whether message i has flag (system flags are stored in
// canonical case).
func (v *view) has(i int, flag string) bool { return slices.Contains(v.sets[v.flags[i]].flags, flag) }

// lastUID is the largest UID in the view, 0 if empty.
func (v *view) lastUID() uint32 {
	if len(v.uids) == 0 {
		return 0
	}
	return v.uids[len(v.uids)-1]
}

// keywords returns the flags in use, system flags first, for FLAGS.
func (v *view) keywords() []string {
	out := slices.Clone(systemFlags)
	for _, f := range v.used {
		if !slices.Contains(systemFlags, f) {
			out = append(out, f)
		}
	}
	return out
}

// announceAll records that FLAGS names every flag in the view (SELECT,
// EXAMINE, which send it).
func (v *view) announceAll() {
	v.flagList = v.keywords()
	v.inFlags = make(map[string]bool, len(v.flagList))
	for _, f := range v.flagList {
		v.inFlags[f] = true
	}
	for k := range v.sets {
		v.sets[k].inFlags = true
	}
}

// announce is called before a FETCH with message i's flags: a keyword
// that no FLAGS response of this session named yet (set since by this
// session or another, or brought by a COPY or APPEND) is announced
// first with FLAGS and PERMANENTFLAGS (RFC 3501 §7.2.6: FLAGS lists the
// flags in use; a client may drop the keywords it does not name).
func (s *session) announce(i int) {
	v := s.sel
	fs := &v.sets[v.flags[i]]
	if fs.inFlags {
		return
	}
	fs.inFlags = true
	fresh := false
	for _, f := range fs.flags {
		if !v.inFlags[f] {
			v.inFlags[f] = true
			v.flagList = append(v.flagList, f)
			fresh = true
		}
	}
	if fresh {
		s.writeFlagsResponses()
	}
}

// writeFlagsResponses sends FLAGS and PERMANENTFLAGS from flagList.
func (s *session) writeFlagsResponses() {
	s.untagged(s.sel.flagsLine())
	s.untagged(s.sel.permanentLine())
}

func (v *view) flagsLine() string { return "FLAGS (" + strings.Join(v.flagList, " ") + ")" }

// permanentLine is PERMANENTFLAGS: the keywords too, and \* since new
// ones may be made (RFC 9051 §7.1); nothing in a read-only mailbox.
func (v *view) permanentLine() string {
	if v.readOnly {
		return "OK [PERMANENTFLAGS ()] Read-only mailbox"
	}
	return `OK [PERMANENTFLAGS (` + strings.Join(v.flagList, " ") + ` \*)] Flags permitted`
}

// errMailboxGone: the selected mailbox was deleted by another session.
var errMailboxGone = errors.New("imapd: selected mailbox deleted")

// drainWake takes the pending wake-ups without waiting.
func (s *session) drainWake() {
	for {
		select {
		case id := <-s.wake:
			s.woken(id)
		default:
			return
		}
	}
}

// sync brings the view up to date with the store, when a wake-up said it
// changed.
func (s *session) sync() error {
	s.drainWake()
	v := s.sel
	if v == nil || !v.dirty {
		return nil
	}
	return v.pull(s.ctx, s.srv.opts.Store, s.acct.ID, s.condstore)
}

// pull reads the changes since the cursor. The mailbox's HIGHESTMODSEQ
// is read before the changes, so every change at or below the new cursor
// is in what ChangedSince and Vanished returned.
func (v *view) pull(ctx context.Context, st Store, accountID int64, condstore bool) error {
	mb, err := v.current(ctx, st, accountID)
	if err != nil {
		return err
	}
	changed, err := st.ChangedSince(ctx, v.mb.ID, v.cursor)
	if err != nil {
		return err
	}
	vanished, err := st.Vanished(ctx, v.mb.ID, v.cursor)
	if err != nil {
		return err
	}
	v.dirty = false
	cursor := max(v.cursor, mb.HighestModSeq)
	for _, m := range changed {
		cursor = max(cursor, m.ModSeq)
		v.apply(m.UID, m.ModSeq, m.Flags, condstore)
	}
	for _, u := range vanished {
		if _, ok := v.index(u); ok {
			v.gone[u] = true
		}
	}
	v.cursor, v.mb = cursor, mb
	return nil
}

// current reads the mailbox again, by ID: another session may have
// renamed it.
func (v *view) current(ctx context.Context, st Store, accountID int64) (store.Mailbox, error) {
	mb, err := st.GetMailbox(ctx, accountID, v.mb.Name)
	if err == nil && mb.ID == v.mb.ID {
		return mb, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return mb, err
	}
	all, err := st.ListMailboxes(ctx, accountID)
	if err != nil {
		return mb, err
	}
	for _, m := range all {
		if m.ID == v.mb.ID {
			return m, nil
		}
	}
	return mb, errMailboxGone
}

// apply records a message's new state: a flag change, or a new message.
func (v *view) apply(uid uint32, modseq uint64, flags []string, condstore bool) {
	i, found := v.index(uid)
	if !found {
		if uid > v.lastUID() {
			v.uids = append(v.uids, uid)
			v.modseq = append(v.modseq, modseq)
			v.flags = append(v.flags, v.intern(flags))
		}
		return
	}
	if v.modseq[i] == modseq {
		return
	}
	v.modseq[i] = modseq
	k := v.intern(flags)
	if k != v.flags[i] || condstore {
		v.changed[uid] = true
	}
	v.flags[i] = k
}

// woken records a store wake-up for mailbox id.
func (s *session) woken(id int64) {
	if s.sel != nil && id == s.sel.mb.ID {
		s.sel.dirty = true
	}
	if s.notif != nil {
		s.notif.dirty = true
	}
}

// refresh syncs the view and reports what changed.
func (s *session) refresh(allowExpunge bool) error { return s.refreshSome(allowExpunge, true) }

// refreshSome syncs the view and reports what changed: expunges when
// allowed, flag changes when flags is set (else they wait in the view).
func (s *session) refreshSome(allowExpunge, flags bool) error {
	if s.sel == nil {
		return nil
	}
	if err := s.sync(); err != nil {
		if errors.Is(err, errMailboxGone) {
			s.untagged("BYE Selected mailbox was deleted")
			s.loggedOut = true
			return nil
		}
		return err
	}
	if err := s.takeRecent(); err != nil { // recent.go; tried again at the next update
		s.log.Warn("imap recent claim", "err", err)
	}
	s.liveRemovals() // context.go
	s.update(allowExpunge, flags)
	s.updateLive()
	s.reportKeyResets() // urlauth.go
	return nil
}

// update reports expunges (when allowed), new messages and flag changes
// (when flags is set).
func (s *session) update(allowExpunge, flags bool) {
	v := s.sel
	if allowExpunge && len(v.gone) > 0 {
		s.reportExpunges()
	}
	from := -1
	if len(v.uids) > v.known {
		from = v.known
		v.known = len(v.uids)
		s.untagged(strconv.Itoa(v.known) + " EXISTS")
	}
	s.reportRecent() // recent.go
	if from >= 0 {
		s.notifyNew(from) // NOTIFY's MessageNew FETCH (notify.go)
	}
	if flags && len(v.changed) > 0 {
		for _, uid := range slices.Sorted(maps.Keys(v.changed)) {
			if i, ok := v.index(uid); ok {
				s.writeFlagsFetch(i)
			}
		}
		clear(v.changed)
	}
}

// reportExpunges removes the gone messages from the view: one VANISHED
// with QRESYNC (RFC 7162 §3.2.10), else an EXPUNGE per message from the
// highest sequence number down, so that each number is right when the
// client reads it (RFC 9051 §7.5.1). Only the messages the client was
// told of (the first known) are reported: one that came and went between
// two updates (appended and expunged by another session) was never
// announced by EXISTS, so it has no sequence number to expunge; those sit
// after the known ones, and go silently.
func (s *session) reportExpunges() {
	v := s.sel
	told := make([]int, 0, len(v.gone)) // view indexes, ascending
	for uid := range v.gone {
		if i, ok := v.index(uid); ok && i < v.known {
			told = append(told, i)
		}
	}
	slices.Sort(told)
	switch {
	case len(told) == 0:
	case s.qresync:
		s.untagged("VANISHED " + imapwire.SeqSetOf(v.uidsOf(told)).String())
	default:
		b := make([]byte, 0, 16*len(told))
		for k := len(told) - 1; k >= 0; k-- {
			b = append(b, "* "...)
			b = strconv.AppendInt(b, int64(told[k]+1), 10)
			b = append(b, " EXPUNGE\r\n"...)
		}
		s.enc.Bytes(b)
	}
	v.removeGone()
	v.known -= len(told)
}

// removeGone drops the gone messages and returns how many there were.
func (v *view) removeGone() int {
	j := 0
	for i, uid := range v.uids {
		if v.gone[uid] {
			delete(v.changed, uid)
			continue
		}
		v.uids[j], v.modseq[j], v.flags[j] = uid, v.modseq[i], v.flags[i]
		j++
	}
	n := len(v.uids) - j
	v.uids, v.modseq, v.flags = v.uids[:j], v.modseq[:j], v.flags[:j]
	clear(v.gone)
	return n
}

// clone copies the view for another session.
func (v *view) clone(readOnly bool) *view {
	c := *v
	c.readOnly, c.dirty, c.known = readOnly, true, len(v.uids)
	c.uids, c.modseq, c.flags = slices.Clone(v.uids), slices.Clone(v.modseq), slices.Clone(v.flags)
	c.sets, c.setIdx, c.used = slices.Clone(v.sets), maps.Clone(v.setIdx), slices.Clone(v.used)
	c.gone, c.changed = map[uint32]bool{}, map[uint32]bool{}
	for k := range c.sets {
		c.sets[k].inFlags = false
	}
	c.flagList, c.inFlags = nil, nil
	c.recent, c.recentTo, c.recentSent = nil, 0, -1
	return &c
}

// writeFlagsFetch sends message i's flags as an unsolicited FETCH, with
// its UID, and its MODSEQ once CONDSTORE is on (RFC 7162 §3.2.4).
func (s *session) writeFlagsFetch(i int) {
	v := s.sel
	s.announce(i)
	b := make([]byte, 0, 64)
	b = append(b, "* "...)
	b = strconv.AppendInt(b, int64(i+1), 10)
	b = append(b, " FETCH (UID "...)
	b = strconv.AppendUint(b, uint64(v.uids[i]), 10)
	b = append(b, " FLAGS "...)
	b = s.appendFlags(b, i)
	if s.condstore {
		b = append(b, " MODSEQ ("...)
		b = strconv.AppendUint(b, v.modseq[i], 10)
		b = append(b, ')')
	}
	b = append(b, ")\r\n"...)
	s.enc.Bytes(b)
}

// systemFlags are the flags of RFC 9051 §2.3.2 a client may set.
var systemFlags = []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}

// resolve turns a sequence set (by number, or by UID) into view indexes,
// ascending. "$" is the saved search result (RFC 5182). A message
// sequence number the client cannot know (above EXISTS, or "*" in an
// empty mailbox) is an error (RFC 9051 §9, seq-number); UIDs that do not
// exist are skipped (RFC 9051 §6.4.9).
func (s *session) resolve(set imapwire.SeqSet, byUID bool) ([]int, error) {
	v := s.sel
	if set.Dollar {
		var out []int
		for _, u := range s.saved {
			if i, ok := v.index(u); ok {
				out = append(out, i)
			}
		}
		return out, nil
	}
	if !byUID {
		n := uint32(len(v.uids))
		for _, r := range set.Ranges {
			if r.Start > n || r.Stop > n || n == 0 {
				return nil, bad("Invalid message sequence number (%d messages)", n)
			}
		}
		nums := set.Numbers(n)
		out := make([]int, len(nums))
		for k, m := range nums {
			out[k] = int(m) - 1
		}
		return out, nil
	}
	return v.uidRange(set), nil
}

// uidRange returns the indexes of the UIDs in set, ascending, with a
// binary search per range: a UID FETCH of a few messages in a large
// mailbox does not scan the view.
func (v *view) uidRange(set imapwire.SeqSet) []int {
	last := v.lastUID()
	var out []int
	for _, r := range set.Ranges {
		lo, hi := r.Start, r.Stop
		if lo == 0 {
			lo = last
		}
		if hi == 0 {
			hi = last
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		for i, _ := slices.BinarySearch(v.uids, lo); i < len(v.uids) && v.uids[i] <= hi; i++ {
			out = append(out, i)
		}
	}
	if len(set.Ranges) > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}

// uidsOf returns the UIDs of view indexes.
func (v *view) uidsOf(idx []int) []uint32 {
	out := make([]uint32, len(idx))
	for k, i := range idx {
		out[k] = v.uids[i]
	}
	return out
}
