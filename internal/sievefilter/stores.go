package sievefilter

import (
	"context"
	"strings"
	"time"

	"facteur.dev/facteur/internal/sieve"
	"facteur.dev/facteur/internal/store"
)

// mailboxes answers the script's mailbox questions (RFC 5490, 8579,
// 9042) from the account's mailboxes.
type mailboxes struct {
	s       Store
	account int64
}

var _ sieve.Mailboxes = mailboxes{}

func (m mailboxes) find(ctx context.Context, match func(store.Mailbox) bool) (string, bool) {
	list, err := m.s.ListMailboxes(ctx, m.account)
	if err != nil {
		return "", false
	}
	for _, mb := range list {
		if match(mb) {
			return displayName(mb.Name), true
		}
	}
	return "", false
}

// displayName is the store's name as Sieve spells it: "INBOX" for the
// inbox.
func displayName(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

func (m mailboxes) Exists(ctx context.Context, name string) bool {
	_, ok := m.find(ctx, func(mb store.Mailbox) bool {
		return mb.Name == name || strings.EqualFold(name, "INBOX") && strings.EqualFold(mb.Name, "INBOX")
	})
	return ok
}

func (m mailboxes) SpecialUse(ctx context.Context, use string) (string, bool) {
	return m.find(ctx, func(mb store.Mailbox) bool {
		for _, u := range strings.Fields(mb.SpecialUse) {
			if strings.EqualFold(u, use) {
				return true
			}
		}
		return false
	})
}

func (m mailboxes) ByID(ctx context.Context, id string) (string, bool) {
	return m.find(ctx, func(mb store.Mailbox) bool { return store.MailboxObjectID(mb) == id })
}

// memory is the account's Sieve memory.
type memory struct {
	s       Store
	account int64
}

func (m memory) Seen(ctx context.Context, key string) (bool, error) {
	return m.s.SieveMarked(ctx, m.account, key, time.Now())
}
