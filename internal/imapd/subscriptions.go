package imapd

import (
	"strings"

	"facteur.dev/facteur/internal/store"
)

// listNonExistent adds to LSUB and LIST (SUBSCRIBED) the subscribed
// names that are not mailboxes (RFC 9051 §6.3.7: a subscription may name
// a mailbox that does not exist, or no longer does): LIST marks them
// \NonExistent (RFC 5258 §3.4), LSUB \Noselect (RFC 3501 §6.3.9).
func (s *session) listNonExistent(cmdName string, a *listArgs, mailboxes map[string]bool) error {
	sl, ok := s.srv.opts.Store.(store.SubscriptionLister)
	if !a.subscribed || !ok {
		return nil
	}
	subs, err := sl.Subscriptions(s.ctx, s.acct.ID)
	if err != nil {
		return err
	}
	attrs := `(\NonExistent \Subscribed) "/" `
	if cmdName == "LSUB" {
		attrs = `(\Noselect) "/" `
	}
	for _, name := range subs {
		if !mailboxes[name] && a.matches(name) {
			s.enc.Raw("* " + cmdName + " " + attrs).AString(s.wireName(name)).CRLF()
		}
	}
	if cmdName == "LSUB" {
		s.lsubParents(a, subs)
	}
	return nil
}

// lsubParents: when "%" stops LSUB above a subscribed name, the level it
// matches is listed \Noselect unless it is subscribed itself (RFC 3501
// §6.3.9).
func (s *session) lsubParents(a *listArgs, subs []string) {
	subscribed := make(map[string]bool, len(subs))
	for _, n := range subs {
		subscribed[n] = true
	}
	sent := map[string]bool{}
	for _, n := range subs {
		if a.matches(n) {
			continue // listed itself
		}
		for i := strings.IndexByte(n, '/'); i > 0; i = nextSlash(n, i) {
			p := n[:i]
			if !subscribed[p] && !sent[p] && a.matches(p) {
				sent[p] = true
				s.enc.Raw(`* LSUB (\Noselect) "/" `).AString(s.wireName(p)).CRLF()
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
