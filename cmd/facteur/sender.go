package main

import (
	"context"
	"fmt"
	"slices"

	"facteur.dev/facteur/internal/checks/senderlist"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

const senderUsage = `sender allow ADDRESS DOMAIN | block ADDRESS DOMAIN | list ADDRESS | delete ADDRESS DOMAIN

A user's allow and block lists of sender domains. A rule matches only a
domain that authenticated the message: the From domain of a dmarc=pass
result or the d= domain of a dkim=pass signature, as this server's checks
found them. A forged From, the envelope sender or SPF alone match nothing.

DOMAIN is a.test (that domain alone) or *.a.test (every domain below
a.test, not a.test itself: add both for both), in either IDN form.

  allow   mail that DOMAIN authenticates goes to the INBOX, also when a
          DMARC quarantine or a spam check filed it in Junk
  block   mail that DOMAIN authenticates goes to Junk (it is not discarded)
  list    the user's rules, one "KIND DOMAIN" line each
  delete  removes the user's rule for DOMAIN ("del" works too)

A user has one rule per DOMAIN: allow after block changes it. When an
allow and a block rule both match a message, block wins. Changes apply to
the next message, also with the server running.`

func runSender(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "sender", senderUsage)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if !senderArgsOK(pos) {
		fs.Usage()
		return subUsage("sender", []string{"allow ADDRESS DOMAIN", "block ADDRESS DOMAIN", "list ADDRESS", "delete ADDRESS DOMAIN"})
	}
	return withStore(ctx, e, func(s store.Store) error {
		a, err := senderAccount(ctx, s, pos[1])
		if err != nil {
			return err
		}
		switch pos[0] {
		case "list":
			return senderList(ctx, e, s, a)
		case "delete", "del":
			return senderDelete(ctx, e, s, a, pos[2])
		}
		return senderSet(ctx, e, s, a, store.SenderKind(pos[0]), pos[2])
	})
}

func senderArgsOK(pos []string) bool {
	if len(pos) == 0 {
		return false
	}
	switch pos[0] {
	case "list":
		return len(pos) == 2
	case "allow", "block", "delete", "del":
		return len(pos) == 3
	}
	return false
}

// senderAccount is the user ADDRESS names: the lists belong to an
// account, not to an alias.
func senderAccount(ctx context.Context, s store.Store, address string) (store.Account, error) {
	addr, err := mail.ParseAddress(address)
	if err != nil {
		return store.Account{}, err
	}
	a, err := s.LookupAccount(ctx, addr.Key())
	if err != nil {
		return a, explain(err, "user "+addr.Key())
	}
	return a, nil
}

func senderSet(ctx context.Context, e *env, s store.Store, a store.Account, kind store.SenderKind, domain string) error {
	d, err := senderlist.ParseDomain(domain)
	if err != nil {
		return err
	}
	rules, err := s.SenderRules(ctx, a.ID)
	if err != nil {
		return err
	}
	if err := s.SetSenderRule(ctx, a.ID, store.SenderRule{Kind: kind, Domain: d}); err != nil {
		return explain(err, "user "+a.Address)
	}
	was := ""
	if i := slices.IndexFunc(rules, func(r store.SenderRule) bool { return r.Domain == d }); i >= 0 && rules[i].Kind != kind {
		was = fmt.Sprintf(" (was %s)", rules[i].Kind)
	}
	fmt.Fprintf(e.stdout, "%s: %s %s%s\n", a.Address, kind, d, was)
	return nil
}

func senderDelete(ctx context.Context, e *env, s store.Store, a store.Account, domain string) error {
	d, err := senderlist.ParseDomain(domain)
	if err != nil {
		return err
	}
	if err := s.DeleteSenderRule(ctx, a.ID, d); err != nil {
		return explain(err, "the rule for "+d+" of "+a.Address)
	}
	fmt.Fprintf(e.stdout, "%s: rule for %s deleted\n", a.Address, d)
	return nil
}

func senderList(ctx context.Context, e *env, s store.Store, a store.Account) error {
	rules, err := s.SenderRules(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, r := range rules {
		fmt.Fprintf(e.stdout, "%s %s\n", r.Kind, r.Domain)
	}
	return nil
}
