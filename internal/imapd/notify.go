package imapd

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"facteur.dev/facteur/internal/store"
)

// NOTIFY (RFC 5465). A session with NOTIFY SET on reports changes
// without being asked, also between commands: awaitCommand, called by
// serve before it reads a tag, sends what changed while the last command
// ran, then waits for the client's next bytes with waitInput (idle.go),
// sending what each store wake-up announces. A goroutine only waits on
// the socket; every write happens on the session's goroutine, so
// notifications never interleave with a command's responses.
//
// For the selected mailbox (the SELECTED or SELECTED-DELAYED group) the
// changes go out as the session reports them anyway (view.go): EXISTS
// and, with MessageNew's fetch attributes, a FETCH of each new message;
// EXPUNGE or VANISHED, at once with SELECTED, and with SELECTED-DELAYED
// only with a command that allows them (RFC 5465 §6.1.2, RFC 9051
// §7.5.1); flag changes as FETCH when FlagChange is asked for. Without
// a SELECTED group nothing is pushed for it: the base protocol's
// updates come with the next command (RFC 5465 §3.1).
//
// For the other mailboxes, every wake-up makes the session list the
// account's mailboxes and compare them with the list it last saw (the
// store wakes watchers for new, changed and expunged messages and for
// mailboxes created, renamed, deleted or (un)subscribed): STATUS for a
// mailbox whose MESSAGES, UIDNEXT (MessageNew, MessageExpunge), UNSEEN
// or HIGHESTMODSEQ (FlagChange) moved (§5.1–5.3), LIST for a mailbox
// created, deleted (\NonExistent) or renamed (OLDNAME) (§5.4), LIST with
// or without \Subscribed for a subscription change (§5.5). The
// mailboxes this session itself creates, deletes, renames or
// (un)subscribes are not reported back to it, nor the MessageNew FETCH
// of what it appends to its selected mailbox (§5, §5.2: SHOULD); the
// STATUS changes it makes elsewhere (APPEND, COPY, MOVE) are. Live
// searches (RFC 5267) may carry fetch attributes in UPDATE (§7).
//
// A client that reads nothing blocks the session's writes until the
// write deadline (the autologout time) ends it; one that sends nothing
// while more than Options.NotifyOverflow notifications go out gets
// NOTIFICATIONOVERFLOW and NOTIFY is off (§5.8).
//
// A mailbox takes the events of the first event group whose filter
// matches it, so an earlier "(MAILBOXES Junk NONE)" excludes Junk from a
// later "(PERSONAL (...))". INBOXES is PERSONAL: a Sieve script may file
// mail in any mailbox (§6.3 allows this). AnnotationChange is accepted
// and never fires (no ANNOTATE); MailboxMetadataChange and
// ServerMetadataChange are refused with BADEVENT (no METADATA).

// notifyEvent is a set of RFC 5465 §5 events.
type notifyEvent uint16

const (
	evMessageNew notifyEvent = 1 << iota
	evMessageExpunge
	evFlagChange
	evAnnotationChange
	evMailboxName
	evSubscriptionChange
	evMailboxMetadataChange
	evServerMetadataChange
)

// eventNames are the events' names, in bit order.
var eventNames = []string{"MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange",
	"MailboxName", "SubscriptionChange", "MailboxMetadataChange", "ServerMetadataChange"}

const (
	messageEvents   = evMessageNew | evMessageExpunge | evFlagChange | evAnnotationChange
	newAndExpunge   = evMessageNew | evMessageExpunge
	supportedEvents = messageEvents | evMailboxName | evSubscriptionChange
)

// filterKind is an event group's filter-mailboxes (RFC 5465 §6).
type filterKind int

const (
	filterPersonal filterKind = iota // and INBOXES
	filterSubscribed
	filterSubtree
	filterMailboxes
)

// notifyGroup is an event group for mailboxes other than the selected one.
type notifyGroup struct {
	kind   filterKind
	names  []string // SUBTREE, MAILBOXES
	events notifyEvent
}

func (g *notifyGroup) matches(mb store.Mailbox) bool {
	switch g.kind {
	case filterSubscribed:
		return mb.Subscribed
	case filterSubtree:
		return slices.ContainsFunc(g.names, func(n string) bool { return mb.Name == n || strings.HasPrefix(mb.Name, n+"/") })
	case filterMailboxes:
		return slices.Contains(g.names, mb.Name) // §6.6: no wildcards
	}
	return true
}

// notifier is a session's NOTIFY SET.
type notifier struct {
	selected notifyEvent // for the selected mailbox
	delayed  bool        // SELECTED-DELAYED
	fetch    []fetchItem // MessageNew's fetch attributes, for the selected mailbox
	groups   []notifyGroup
	badEvent bool // an event this server does not know

	known map[int64]store.Mailbox // the account's mailboxes as last reported
	own   map[uint32]bool         // UIDs this session appended to the selected mailbox
	ownIn *view                   // the selected mailbox own is about
	dirty bool                    // a wake-up came: compare the mailboxes again
	sent  int                     // responses since the client last sent a command
}

// events are the events asked for mb: those of the first matching group.
func (n *notifier) events(mb store.Mailbox) notifyEvent {
	for i := range n.groups {
		if n.groups[i].matches(mb) {
			return n.groups[i].events
		}
	}
	return 0
}

// notifyCmd: NOTIFY NONE and NOTIFY SET [STATUS] event-groups (RFC 5465
// §3.1). A successful NOTIFY SET is also a NOOP: finish reports the
// selected mailbox's changes.
func (s *session) notifyCmd(c *cmd) error {
	if err := s.dec.SP(); err != nil {
		return err
	}
	a, err := s.dec.Atom()
	if err != nil {
		return err
	}
	switch strings.ToUpper(a) {
	case "NONE":
		if err := s.dec.CRLF(); err != nil {
			return err
		}
		s.notif = nil
		return nil
	case "SET":
	default:
		return bad("Expected NOTIFY SET or NOTIFY NONE")
	}
	n, status, err := s.notifySetArgs()
	if err != nil {
		return err
	}
	if n.badEvent || n.allEvents()&^supportedEvents != 0 { // §3.1: NO, not BAD
		var names []string
		for i, name := range eventNames {
			if supportedEvents&(1<<i) != 0 {
				names = append(names, name)
			}
		}
		return no("BADEVENT ("+strings.Join(names, " ")+")", "Unsupported NOTIFY event")
	}
	mbs, err := s.srv.opts.Store.ListMailboxes(s.ctx, s.acct.ID)
	if err != nil {
		return err
	}
	n.known = byID(mbs)
	s.notif = n
	if hasKind(n.fetch, itemModSeq) {
		s.enableCondstore() // RFC 7162 §3.1: a CONDSTORE enabling command
	}
	if status { // §3.1: a STATUS for each mailbox with message events
		for _, mb := range mbs {
			if ev := n.events(mb); ev&messageEvents != 0 && !s.isSelected(mb) {
				s.notifyStatus(mb, ev)
			}
		}
	}
	return nil
}

func (n *notifier) allEvents() notifyEvent {
	ev := n.selected
	for _, g := range n.groups {
		ev |= g.events
	}
	return ev
}

func byID(mbs []store.Mailbox) map[int64]store.Mailbox {
	m := make(map[int64]store.Mailbox, len(mbs))
	for _, mb := range mbs {
		m[mb.ID] = mb
	}
	return m
}

func (s *session) isSelected(mb store.Mailbox) bool { return s.sel != nil && s.sel.mb.ID == mb.ID }

// notifySetArgs reads [SP "STATUS"] SP event-group *(SP event-group) CRLF.
func (s *session) notifySetArgs() (*notifier, bool, error) {
	n := &notifier{}
	if err := s.dec.SP(); err != nil {
		return nil, false, err
	}
	status := strings.EqualFold(s.dec.PeekAtom(), "STATUS")
	if status {
		if _, err := s.dec.Atom(); err != nil {
			return nil, false, err
		}
		if err := s.dec.SP(); err != nil {
			return nil, false, err
		}
	}
	selectedSet := false
	for {
		if err := s.eventGroup(n, &selectedSet); err != nil {
			return nil, false, err
		}
		if !s.dec.Consume(' ') {
			break
		}
	}
	return n, status, s.dec.CRLF()
}

// eventGroup reads "(" filter-mailboxes SP events ")".
func (s *session) eventGroup(n *notifier, selectedSet *bool) error {
	if !s.dec.Consume('(') {
		return bad("Expected ( to start an event group")
	}
	f, err := s.dec.Atom()
	if err != nil {
		return err
	}
	var g notifyGroup
	selected := false
	switch f = strings.ToUpper(f); f {
	case "SELECTED", "SELECTED-DELAYED":
		if *selectedSet {
			return bad("Only one of SELECTED and SELECTED-DELAYED may be given") // §6.1
		}
		*selectedSet, selected, n.delayed = true, true, f == "SELECTED-DELAYED"
	case "PERSONAL", "INBOXES":
		g.kind = filterPersonal
	case "SUBSCRIBED":
		g.kind = filterSubscribed
	case "SUBTREE", "MAILBOXES":
		g.kind = filterMailboxes
		if f == "SUBTREE" {
			g.kind = filterSubtree
		}
		if err := s.dec.SP(); err != nil {
			return err
		}
		if g.names, err = s.mailboxList(); err != nil {
			return err
		}
	default:
		return bad("Unknown mailbox filter %s", f)
	}
	if err := s.dec.SP(); err != nil {
		return err
	}
	ev, fetch, err := s.notifyEvents(n)
	if err != nil {
		return err
	}
	if !s.dec.Consume(')') {
		return bad("Expected ) to end an event group")
	}
	if selected {
		if err := selectedEventsErr(ev); err != nil {
			return err
		}
	}
	switch {
	case selected && ev&^messageEvents != 0:
		return bad("Only message events apply to %s", f) // §6.1
	case !selected && fetch != nil:
		return bad("Fetch attributes apply to the selected mailbox only")
	case selected:
		n.selected, n.fetch = ev, fetch
	default:
		g.events = ev
		n.groups = append(n.groups, g)
	}
	return nil
}

// mailboxList reads one-or-more-mailbox: a mailbox, or a list of them.
func (s *session) mailboxList() ([]string, error) {
	if b, _ := s.dec.Peek(); b != '(' {
		name, err := s.mailboxArg()
		return []string{name}, err
	}
	var names []string
	err := s.dec.List(func() error {
		name, err := s.mailboxArg()
		names = append(names, name)
		return err
	})
	if err == nil && len(names) == 0 {
		err = bad("Expected a mailbox")
	}
	return names, err
}

// notifyEvents reads "NONE" or "(" event *(SP event) ")", MessageNew with
// its optional fetch attributes (§5.2).
func (s *session) notifyEvents(n *notifier) (notifyEvent, []fetchItem, error) {
	if b, _ := s.dec.Peek(); b != '(' {
		a, err := s.dec.Atom()
		if err == nil && !strings.EqualFold(a, "NONE") {
			err = bad("Expected an event list or NONE")
		}
		return 0, nil, err
	}
	var ev notifyEvent
	var fetch []fetchItem
	count := 0
	err := s.dec.List(func() error {
		a, err := s.dec.Atom()
		if err != nil {
			return err
		}
		count++
		k := slices.IndexFunc(eventNames, func(name string) bool { return strings.EqualFold(name, a) })
		if k < 0 {
			n.badEvent = true // event-ext: refused once the command is read
			return nil
		}
		ev |= 1 << k
		if k == 0 && string(s.dec.PeekBytes(2)) == " (" {
			s.dec.SP()
			if fetch, err = s.fetchItems(); err != nil {
				return err
			}
			if !hasKind(fetch, itemUID) {
				fetch = append([]fetchItem{{kind: itemUID}}, fetch...)
			}
		}
		return nil
	})
	if err == nil && count == 0 {
		err = bad("Empty event list")
	}
	return ev, fetch, err
}

// selectedEventsErr checks §5's pairing rules: MessageNew and
// MessageExpunge together, FlagChange and AnnotationChange only with
// them. The RFC states them for every filter; Facteur, like Dovecot (and
// imaptest's notify group, which expects OK and the initial STATUS for
// "MAILBOXES x (MessageExpunge)"), holds only SELECTED and
// SELECTED-DELAYED to them, where a client that missed one of the pair
// could no longer keep its sequence numbers right. Elsewhere an event
// alone just asks for the STATUS items it touches (§5.1).
func selectedEventsErr(ev notifyEvent) error {
	switch {
	case ev&newAndExpunge != 0 && ev&newAndExpunge != newAndExpunge:
		return bad("MessageNew and MessageExpunge must be given together") // §5
	case ev&(evFlagChange|evAnnotationChange) != 0 && ev&newAndExpunge == 0:
		return bad("FlagChange and AnnotationChange need MessageNew and MessageExpunge") // §5
	}
	return nil
}

// awaitCommand runs before serve reads a command: with NOTIFY on, it
// sends what changed while the last command ran, then what changes
// until the client sends something (RFC 5465 §5: at any time). A
// command already waiting runs first. It returns false when the
// session must end.
func (s *session) awaitCommand() bool {
	n := s.notif
	if n == nil {
		return true
	}
	n.sent = 0
	if s.dec.Buffered() > 0 {
		return true
	}
	s.notifyPush(false)
	if err := s.flushIfIdle(); err != nil || s.loggedOut {
		return false
	}
	err := s.waitInput(func(id int64) { s.notifyWake(id, false) })
	return !errors.Is(err, errConnBroken)
}

// notifyWake reports what a wake-up, and those queued behind it, announce.
func (s *session) notifyWake(id int64, inIdle bool) {
	s.woken(id)
	if s.notif != nil {
		s.drainWake()
		s.notifyPush(inIdle)
	}
}

// notifyPush sends what changed, as NOTIFY SET asked: for the selected
// mailbox, and for the others when a wake-up came. Expunges wait for a
// command with SELECTED-DELAYED, except in IDLE, which allows them.
func (s *session) notifyPush(inIdle bool) {
	n := s.notif
	if s.sel != nil && n.selected != 0 {
		s.drainWake()
		if s.sel.dirty {
			n.sent++
			if err := s.refreshSome(!n.delayed || inIdle, n.selected&evFlagChange != 0); err != nil {
				s.log.Warn("imap notify update", "err", err)
			}
		}
	}
	if n.dirty && len(n.groups) > 0 && !s.loggedOut { // no groups: only the selected mailbox
		n.dirty = false
		if err := s.notifyMailboxes(); err != nil {
			s.log.Warn("imap notify mailboxes", "err", err)
		}
	}
	if n.sent > s.srv.opts.NotifyOverflow { // §5.8: as if NOTIFY NONE
		s.untagged("OK [NOTIFICATIONOVERFLOW] Too many notifications unread; NOTIFY is now off")
		s.notif = nil
	}
}

// notifyMailboxes compares the account's mailboxes with those last seen
// and reports the differences the client asked for.
func (s *session) notifyMailboxes() error {
	n := s.notif
	mbs, err := s.srv.opts.Store.ListMailboxes(s.ctx, s.acct.ID)
	if err != nil {
		return err
	}
	now := byID(mbs)
	parents := newHierarchy(mbs).parents // names with mailboxes below them
	for _, mb := range mbs {
		old, existed := n.known[mb.ID]
		ev := n.events(mb)
		if existed {
			ev |= n.events(old)
		}
		switch {
		case !existed && ev&evMailboxName != 0:
			s.notifyList(mb, parents, "")
		case existed && old.Name != mb.Name && ev&evMailboxName != 0:
			s.notifyList(mb, parents, old.Name)
		}
		if existed && old.Subscribed != mb.Subscribed && ev&evSubscriptionChange != 0 {
			s.notifyList(mb, parents, "")
		}
		if !s.isSelected(mb) && (existed || mb.Messages > 0) && s.statusMoved(old, mb, ev) {
			s.notifyStatus(mb, ev)
		}
	}
	gone := slices.SortedFunc(maps.Values(n.known), func(a, b store.Mailbox) int { return strings.Compare(a.Name, b.Name) })
	for _, old := range gone {
		if _, ok := now[old.ID]; !ok && n.events(old)&evMailboxName != 0 {
			s.notifyGone(old.Name, parents[old.Name])
		}
	}
	n.known = now
	return nil
}

// notifyGone sends the LIST for a deleted mailbox (RFC 5465 §5.4):
// \NonExistent, or, when mailboxes remain below it, the \Noselect level
// DELETE left (RFC 3501 §6.3.4).
func (s *session) notifyGone(name string, children bool) {
	attrs := `\NonExistent`
	if children {
		attrs = `\Noselect \HasChildren`
	}
	s.enc.Raw("* LIST (" + attrs + `) "/" `).AString(s.wireName(name)).CRLF()
	s.notif.sent++
}

// statusMoved reports whether the STATUS of a mailbox changed in a way
// the events asked for show (RFC 5465 §5.1–5.3); old is the zero
// Mailbox for a new one.
func (s *session) statusMoved(old, mb store.Mailbox, ev notifyEvent) bool {
	if ev&evMessageNew != 0 && (old.UIDNext != mb.UIDNext || old.Messages != mb.Messages) {
		return true
	}
	return ev&evFlagChange != 0 && (old.Unseen != mb.Unseen || old.HighestModSeq != mb.HighestModSeq)
}

// notifyStatus sends a mailbox's STATUS: MESSAGES, UIDNEXT and
// UIDVALIDITY (§3.1, §5.2, §5.3), UNSEEN, and HIGHESTMODSEQ once
// CONDSTORE is on (§5.2) or for FlagChange (§3.1, §5.1: this server has
// CONDSTORE), which does not turn CONDSTORE on for the session.
func (s *session) notifyStatus(mb store.Mailbox, ev notifyEvent) {
	items := []string{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"}
	if s.condstore || ev&evFlagChange != 0 {
		items = append(items, "HIGHESTMODSEQ")
	}
	s.writeStatus(mb, items) // fails only for items not asked here
	if s.notif != nil {
		s.notif.sent++
	}
}

// notifyList sends an unsolicited LIST for a mailbox created, renamed
// (with OLDNAME, RFC 5465 §5.4) or (un)subscribed (§5.5: \Subscribed if
// and only if it is subscribed).
func (s *session) notifyList(mb store.Mailbox, parents map[string]bool, oldName string) {
	attrs := `\HasNoChildren`
	if parents[mb.Name] {
		attrs = `\HasChildren`
	}
	if mb.Subscribed {
		attrs += ` \Subscribed`
	}
	if mb.SpecialUse != "" {
		attrs += " " + mb.SpecialUse
	}
	s.enc.Raw("* LIST (" + attrs + `) "/" `).AString(s.wireName(mb.Name))
	if oldName != "" {
		s.enc.Raw(` ("OLDNAME" (`).AString(s.wireName(oldName)).Raw("))")
	}
	s.enc.CRLF()
	s.notif.sent++
}

// notifyNew sends the FETCH that NOTIFY's MessageNew asked for after the
// EXISTS that announced messages from view index from on, except for
// those the session appended itself (§5.2: SHOULD NOT).
func (s *session) notifyNew(from int) {
	n := s.notif
	if n == nil || n.selected&evMessageNew == 0 || len(n.fetch) == 0 {
		return
	}
	idx := make([]int, 0, len(s.sel.uids)-from)
	for i := from; i < len(s.sel.uids); i++ {
		if n.ownIn != s.sel || !n.own[s.sel.uids[i]] {
			idx = append(idx, i)
		}
	}
	n.own, n.ownIn = nil, nil
	if len(idx) == 0 {
		return
	}
	if err := s.writeFetches(idx, n.fetch); err != nil {
		s.log.Warn("imap notify fetch", "err", err)
	}
}

// updateFetch returns, for package search, the reader of the fetch
// attributes of SEARCH and SORT's RETURN (UPDATE (...)), into items
// (RFC 5465 §7).
func (s *session) updateFetch(items *[]fetchItem) func() error {
	return func() (err error) {
		*items, err = s.fetchItems()
		if err == nil && !hasKind(*items, itemUID) {
			*items = append([]fetchItem{{kind: itemUID}}, *items...)
		}
		return err
	}
}

// fetchAdded sends, before a live search's ESEARCH ADDTO, a FETCH of the
// messages it adds with the attributes its UPDATE asked for (RFC 5465
// §7): those in now and not in old.
func (s *session) fetchAdded(old, now []uint32, items []fetchItem) {
	if len(items) == 0 {
		return
	}
	known := make(map[uint32]bool, len(old))
	for _, u := range old {
		known[u] = true
	}
	var idx []int
	for _, u := range now {
		if i, ok := s.sel.index(u); ok && !known[u] {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	slices.Sort(idx)
	if err := s.writeFetches(idx, items); err != nil {
		s.log.Warn("imap live search fetch", "err", err)
	}
}

// ownChange records a change this session made to its mailboxes (CREATE,
// DELETE, RENAME from name to to, SUBSCRIBE, UNSUBSCRIBE) in NOTIFY's
// picture of them, so that it is not reported back (RFC 5465 §5: the
// server SHOULD omit events this client caused). Another client's
// different change to the same mailbox still shows. err is the
// command's: nothing changed unless it is nil.
func (s *session) ownChange(command, name, to string, err error) {
	n := s.notif
	if n == nil || err != nil {
		return
	}
	for id, mb := range n.known {
		switch {
		case command == "DELETE" && mb.Name == name:
			delete(n.known, id)
		case command == "RENAME" && (mb.Name == name || strings.HasPrefix(mb.Name, name+"/")):
			mb.Name = to + mb.Name[len(name):]
			n.known[id] = mb
		case strings.HasSuffix(command, "SUBSCRIBE") && mb.Name == name:
			mb.Subscribed = command == "SUBSCRIBE"
			n.known[id] = mb
		}
	}
	if command != "CREATE" {
		return
	}
	levels := []string{name} // and the superior levels CREATE made
	for i := strings.IndexByte(name, '/'); i >= 0; i = nextSep(name, i) {
		levels = append(levels, name[:i])
	}
	for _, level := range levels {
		if mb, err := s.srv.opts.Store.GetMailbox(s.ctx, s.acct.ID, level); err == nil {
			if _, ok := n.known[mb.ID]; !ok {
				n.known[mb.ID] = mb
			}
		}
	}
}

// ownAppended records the UIDs this session appended to its selected
// mailbox, for notifyNew.
func (s *session) ownAppended(uids []uint32) {
	n := s.notif
	if n == nil || n.selected&evMessageNew == 0 || len(n.fetch) == 0 {
		return
	}
	if n.ownIn != s.sel {
		n.own, n.ownIn = map[uint32]bool{}, s.sel
	}
	for _, u := range uids {
		n.own[u] = true
	}
}
