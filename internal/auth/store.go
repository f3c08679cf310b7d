package auth

import (
	"context"
	"errors"

	"facteur.dev/facteur/internal/store"
)

// StoreLookup is the Lookup over the store's accounts, used by the server
// and by every protocol's tests.
type StoreLookup struct{ Accounts store.Accounts }

// LookupAccount implements Lookup.
func (l StoreLookup) LookupAccount(ctx context.Context, address string) (Account, error) {
	a, err := l.Accounts.LookupAccount(ctx, address)
	if errors.Is(err, store.ErrNotFound) {
		return Account{}, ErrNotFound
	}
	return Account{ID: a.ID, Address: a.Address, PasswordHash: a.PasswordHash, SCRAM: a.SCRAM, Disabled: a.Disabled}, err
}
