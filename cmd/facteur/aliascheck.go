package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

const aliasUsage = `alias add [--force] ADDRESS TARGET... | del ADDRESS | list

ADDRESS may be @domain: a catch-all for that domain, which takes mail for
the addresses that have no account or alias of their own.

add refuses, unless --force:
  - an ADDRESS that is an account: the alias would take its mail, and the
    account would get none unless it is one of the targets;
  - a TARGET in one of our domains that reaches no account (no account,
    alias or catch-all): mail to it would bounce at delivery.
Remote targets are taken as they are.`

// aliasCheck refuses what add would get wrong (see aliasUsage) unless
// force, and says what a forced alias does.
func aliasCheck(ctx context.Context, e *env, s store.Store, address string, targets []string, force bool) error {
	var problems []string
	if !strings.HasPrefix(address, "@") {
		if _, err := s.LookupAccount(ctx, address); err == nil {
			problems = append(problems, fmt.Sprintf("%s is an account: the alias takes its mail from now on, and it gets none unless it is one of the targets", address))
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	p := delivery.New(s, nil)
	for _, t := range targets {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return err
		}
		local, err := p.IsLocal(ctx, a)
		if err != nil {
			return err
		}
		if !local || t == address {
			continue
		}
		if _, err := p.Resolve(ctx, a); err != nil {
			problems = append(problems, fmt.Sprintf("target %s reaches no account here (%v): add it first", t, err))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("alias %s not added:\n  %s\n(--force adds it anyway)", address, strings.Join(problems, "\n  "))
	}
	for _, pr := range problems {
		fmt.Fprintf(e.stdout, "warning: %s\n", pr)
	}
	return nil
}
