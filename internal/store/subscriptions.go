package store

import "context"

// SubscriptionLister lists an account's subscriptions (RFC 9051 §6.3.7):
// names, which need not name an existing mailbox. Mail.SetSubscribed
// changes them: subscribing to a name that does not exist succeeds, and
// a subscription survives the deletion of its mailbox; RENAME carries
// the subscriptions of the mailbox and its inferiors to the new names.
type SubscriptionLister interface {
	// Subscriptions returns the subscribed names, sorted.
	Subscriptions(ctx context.Context, accountID int64) ([]string, error)
}
