package imapd

import (
	"slices"

	"facteur.dev/facteur/internal/store"
)

// subscriptions returns the subscribed names when the command selects
// or returns them (LSUB, LIST (SUBSCRIBED), RETURN (SUBSCRIBED)): from
// the store's list, which may name mailboxes that do not exist (RFC 9051
// §6.3.7), or else from mbs.
func (s *session) subscriptions(a *listArgs, mbs []store.Mailbox) ([]string, error) {
	if !a.subscribed && !a.retSubscribed {
		return nil, nil
	}
	if sl, ok := s.srv.opts.Store.(store.SubscriptionLister); ok {
		return sl.Subscriptions(s.ctx, s.acct.ID)
	}
	var subs []string
	for _, mb := range mbs {
		if mb.Subscribed {
			subs = append(subs, mb.Name)
		}
	}
	return subs, nil
}

// listSubscribed answers LSUB and LIST (SUBSCRIBED): the subscribed
// names the patterns match, which need not be mailboxes (LIST marks those
// \NonExistent, RFC 5258 §3.4; LSUB \Noselect, RFC 3501 §6.3.9). Then
// the names above a subscribed name that the patterns do not match: for
// LSUB when "%" stops above it (\Noselect, RFC 3501 §6.3.9), for LIST
// (SUBSCRIBED RECURSIVEMATCH) with CHILDINFO (RFC 5258 §3.5), which a
// subscribed name above one gets too.
func (s *session) listSubscribed(cmdName string, a *listArgs, h *hierarchy, subs []string) error {
	lsub := cmdName == "LSUB"
	subscribed := nameSet(subs)
	above := map[string]bool{} // names above a subscription the patterns do not match
	for _, n := range subs {
		if !a.matches(n) {
			forEachParent(n, func(p string) { above[p] = true })
		}
	}
	names := slices.Clone(subs)
	for p := range above {
		if !subscribed[p] {
			names = append(names, p)
		}
	}
	sortNames(names)
	for _, name := range names {
		mb, isMailbox := h.mailboxes[name]
		gap := !subscribed[name] && (lsub || a.recursive)
		if !a.matches(name) || !subscribed[name] && !gap || a.specialUse && mb.SpecialUse == "" {
			continue
		}
		e := listEntry{name: name, subscribed: subscribed[name], children: h.parents[name],
			noselect: h.noselect(name) || lsub && gap, nonexistent: !h.exists(name) && !(lsub && gap),
			childInfo: a.recursive && above[name]}
		if isMailbox {
			e.mb = &mb
		}
		if err := s.writeList(cmdName, a, e); err != nil {
			return err
		}
	}
	return nil
}
