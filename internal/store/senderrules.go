package store

import "context"

// SenderKind is what a sender rule does with the mail it matches.
type SenderKind string

// The kinds of sender rule.
const (
	SenderAllow SenderKind = "allow"
	SenderBlock SenderKind = "block"
)

// SenderRule is one entry of an account's sender lists. Domain is
// lowercase and in Unicode form (as mail.NormalizeDomain gives it):
// "a.test" names that domain alone, "*.a.test" every domain below it.
// Which identities of a message a rule is matched against, and what
// allow and block then do, is the filter's business
// (internal/checks/senderlist); the store only keeps the lists.
type SenderRule struct {
	Kind   SenderKind
	Domain string
}

// SenderLists keeps each account's allow and block lists. The rules of
// an account are its own: they never show in another account's list, and
// they go with the account (an account made again under the same address
// starts with none). An account has at most one rule per Domain.
type SenderLists interface {
	// SenderRules returns the account's rules sorted by Domain; none for
	// an account that has none or does not exist.
	SenderRules(ctx context.Context, accountID int64) ([]SenderRule, error)
	// SetSenderRule adds r to the account's lists, or gives the rule the
	// account already has for r.Domain the kind r.Kind. ErrNotFound if
	// there is no such account; an error for a Kind that is neither
	// SenderAllow nor SenderBlock or an empty Domain.
	SetSenderRule(ctx context.Context, accountID int64, r SenderRule) error
	// DeleteSenderRule removes the account's rule for domain; ErrNotFound
	// if it has none.
	DeleteSenderRule(ctx context.Context, accountID int64, domain string) error
}
