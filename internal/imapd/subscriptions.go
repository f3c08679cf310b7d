package imapd

import "facteur.dev/facteur/internal/store"

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
	return nil
}
