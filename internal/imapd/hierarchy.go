package imapd

import (
	"slices"
	"strings"

	"facteur.dev/facteur/internal/store"
)

// hierarchy is an account's mailbox names as LIST shows them. CREATE and
// RENAME make every superior level of a name a mailbox (RFC 9051 §6.3.4),
// so a level above a mailbox that is not itself one is what DELETE of a
// mailbox with inferiors leaves: a \Noselect name (RFC 3501 §6.3.4, RFC
// 9051 §6.3.5). Such a name is kept nowhere: it lasts as long as a
// mailbox below it does, and CREATE of it makes a new mailbox.
type hierarchy struct {
	mailboxes map[string]store.Mailbox
	parents   map[string]bool // names with a mailbox below them
	names     []string        // mailboxes and \Noselect levels, INBOX first, then sorted
}

func newHierarchy(mbs []store.Mailbox) *hierarchy {
	h := &hierarchy{mailboxes: make(map[string]store.Mailbox, len(mbs)), parents: map[string]bool{}}
	for _, mb := range mbs {
		h.mailboxes[mb.Name] = mb
		h.names = append(h.names, mb.Name)
	}
	for _, mb := range mbs {
		forEachParent(mb.Name, func(p string) {
			if !h.parents[p] {
				h.parents[p] = true
				if _, ok := h.mailboxes[p]; !ok {
					h.names = append(h.names, p)
				}
			}
		})
	}
	sortNames(h.names)
	return h
}

// noselect reports whether name is a level without a mailbox.
func (h *hierarchy) noselect(name string) bool {
	_, ok := h.mailboxes[name]
	return !ok && h.parents[name]
}

// exists reports whether LIST shows name: a mailbox or a \Noselect level.
func (h *hierarchy) exists(name string) bool {
	_, ok := h.mailboxes[name]
	return ok || h.parents[name]
}

// forEachParent calls fn with each superior level of name, shortest first.
func forEachParent(name string, fn func(string)) {
	for i := strings.IndexByte(name, '/'); i >= 0; i = nextSep(name, i) {
		fn(name[:i])
	}
}

// sortNames sorts names as ListMailboxes does: INBOX first, then by name.
func sortNames(names []string) {
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "INBOX":
			return -1
		case b == "INBOX":
			return 1
		}
		return strings.Compare(a, b)
	})
}
