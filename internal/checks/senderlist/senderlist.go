// Package senderlist applies each account's allow and block lists
// (store.SenderLists) to that account's copy of an inbound message: a
// delivery.CopyFilter.
//
// A rule is matched only against the domains that authenticated the
// message, as this server's checks found them (delivery.Envelope.Results):
//
//   - the RFC5322.From domain of a dmarc=pass result: the author domain,
//     aligned with an SPF or DKIM identifier that passed (RFC 7489 §3,
//     §4.2);
//   - the d= domain of each dkim=pass result: the signing domain, which
//     claims responsibility for the message (RFC 6376 §1, §3.5).
//
// Never the From header or the envelope sender as the client wrote them,
// nor an SPF pass alone (it vouches for the client's address, which a
// shared provider lends to all its customers, and is broken by
// forwarding), nor Authentication-Results fields in the message: a forged
// From matches no rule, so naming an allowed domain gets no mail out of
// Junk. (The other side of it: a blocked sender who does not
// authenticate is not matched either; its domain's DMARC policy then
// applies as to anyone's.)
//
// A rule's domain is "a.test", which matches a.test alone, or "*.a.test",
// which matches every domain below a.test (news.a.test, x.news.a.test) but
// not a.test itself, as a DNS wildcard (RFC 4592 §2.1.1): an account that
// wants both adds both. Domains are compared lowercase in Unicode form, so
// an internationalised name matches in either form.
//
// What a copy gets:
//
//   - a block rule matches an identity: the copy is filed in Junk. Not
//     discarded: mail a too-wide rule catches can still be found, where a
//     discard after the 250 loses it without a bounce.
//   - an allow rule matches and no block rule does: the copy goes to the
//     INBOX if the checks filed it elsewhere (a DMARC quarantine, a spam
//     verdict: Envelope.Mailbox). A mailbox that a filter run before this
//     one chose is left alone; run this filter first, before Sieve.
//   - both match (the same identity or two: "allow *.mail.test", "block
//     spam.mail.test"): block wins. An allow takes mail out of Junk, which
//     should happen only when nothing the user blocked vouches for it.
//
// Either way the copy gets an X-Facteur-Sender-List header field naming
// the rule and the result that matched it, and the decision is logged.
package senderlist

import (
	"context"
	"fmt"
	"log/slog"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/store"
)

// JunkFolder is where a blocked sender's mail goes.
const JunkFolder = "Junk"

// HeaderField names the header field added to a copy a rule decided.
const HeaderField = "X-Facteur-Sender-List"

// Filter applies the sender lists of Rules to each local copy.
type Filter struct {
	Rules store.SenderLists
	Log   *slog.Logger // nil discards
}

var _ delivery.CopyFilter = (*Filter)(nil)

// New returns a filter over rules.
func New(rules store.SenderLists, log *slog.Logger) *Filter {
	return &Filter{Rules: rules, Log: log}
}

// FilterCopy implements delivery.CopyFilter. A message that nothing
// authenticated costs no store read. When the lists cannot be read the
// copy stays as the checks filed it and FilterCopy returns nil: the
// pipeline's answer to a failing filter, INBOX, would undo a quarantine.
func (f *Filter) FilterCopy(ctx context.Context, env *delivery.Envelope, msg delivery.Received, c *delivery.Copy) error {
	ids := Identities(env.Results)
	if len(ids) == 0 {
		return nil
	}
	rules, err := f.Rules.SenderRules(ctx, c.Account.ID)
	if err != nil {
		f.log().Warn("sender lists unreadable, copy left as filed", "account", c.Account.Address, "err", err)
		return nil
	}
	m, ok := Decide(rules, ids)
	if !ok {
		return nil
	}
	switch m.Rule.Kind {
	case store.SenderBlock:
		c.Mailbox = JunkFolder
	case store.SenderAllow:
		if c.Mailbox == env.Mailbox {
			c.Mailbox = ""
		}
	}
	c.Headers += HeaderField + ": " + m.describe() + "\r\n"
	f.log().Info("sender list", "account", c.Account.Address, "kind", m.Rule.Kind, "rule", m.Rule.Domain,
		"identity", m.Identity.Domain, "method", m.Identity.Method, "mailbox", c.Mailbox)
	return nil
}

func (f *Filter) log() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}

// Match is a rule that matched an authenticated identity.
type Match struct {
	Rule     store.SenderRule
	Identity Identity
}

// describe is the header field's value: "block *.b.test (dkim=pass
// header.d=x.b.test)", in ASCII (A-labels).
func (m Match) describe() string {
	prop := "header.d"
	if m.Identity.Method == MethodDMARC {
		prop = "header.from"
	}
	return fmt.Sprintf("%s %s (%s=pass %s=%s)", m.Rule.Kind, asciiPattern(m.Rule.Domain), m.Identity.Method, prop, ascii(m.Identity.Domain))
}

// Decide returns the rule that applies to a message with the
// authenticated identities ids: the first block rule that matches one
// of them, else the first allow rule that does; ok is false when none
// matches.
func Decide(rules []store.SenderRule, ids []Identity) (m Match, ok bool) {
	for _, kind := range []store.SenderKind{store.SenderBlock, store.SenderAllow} {
		for _, r := range rules {
			if r.Kind != kind {
				continue
			}
			for _, id := range ids {
				if Matches(r.Domain, id.Domain) {
					return Match{Rule: r, Identity: id}, true
				}
			}
		}
	}
	return Match{}, false
}
