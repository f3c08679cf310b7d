package imapd

import (
	"strings"

	"facteur.dev/facteur/internal/store"
)

// subscriptions returns the subscribed names when the command selects
// them (LSUB, LIST (SUBSCRIBED)): from the store's list, which may name
// mailboxes that do not exist (RFC 9051 §6.3.7), or else from mbs.
func (s *session) subscriptions(a *listArgs, mbs []store.Mailbox) ([]string, error) {
	if !a.subscribed {
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

// listNonExistent adds to LSUB and LIST (SUBSCRIBED) the subscribed
// names that are not mailboxes: LIST marks them \NonExistent (RFC 5258
// §3.4), LSUB \Noselect (RFC 3501 §6.3.9). Then the levels above
// subscribed names that are neither mailboxes nor subscribed: for LSUB
// when "%" stops above a subscribed name (RFC 3501 §6.3.9), for LIST
// (SUBSCRIBED RECURSIVEMATCH) with CHILDINFO (RFC 5258 §3.5).
func (s *session) listNonExistent(cmdName string, a *listArgs, mailboxes map[string]bool, subs []string) {
	attrs := `(\NonExistent \Subscribed) "/" `
	if cmdName == "LSUB" {
		attrs = `(\Noselect) "/" `
	}
	subscribed := make(map[string]bool, len(subs))
	for _, name := range subs {
		subscribed[name] = true
		if !mailboxes[name] && a.matches(name) {
			s.enc.Raw("* " + cmdName + " " + attrs).AString(s.wireName(name)).CRLF()
		}
	}
	lsub := cmdName == "LSUB"
	if !lsub && !a.recursive {
		return
	}
	sent := map[string]bool{}
	for _, n := range subs {
		if lsub && a.matches(n) {
			continue // listed itself
		}
		for i := strings.IndexByte(n, '/'); i > 0; i = nextSlash(n, i) {
			p := n[:i]
			if subscribed[p] || sent[p] || !a.matches(p) || !lsub && mailboxes[p] {
				continue
			}
			sent[p] = true
			if lsub {
				s.enc.Raw(`* LSUB (\Noselect) "/" `).AString(s.wireName(p)).CRLF()
			} else {
				s.enc.Raw(`* LIST (\NonExistent) "/" `).AString(s.wireName(p)).Raw(` ("CHILDINFO" ("SUBSCRIBED"))`).CRLF()
			}
		}
	}
}

// nextSlash is the index of the next "/" of n after i, or -1.
func nextSlash(n string, i int) int {
	j := strings.IndexByte(n[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}
