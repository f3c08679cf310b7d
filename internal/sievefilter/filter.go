// Package sievefilter runs an account's active Sieve script at delivery:
// a delivery.CopyFilter that loads the script from the store, compiles it
// once (cache.go), runs it on the copy as it will be stored, and turns
// its Result into the copy's filings, redirects, replies and refusal
// (apply.go). A script that is missing does nothing; one that fails to
// compile or to run leaves the copy as it was, the implicit keep of
// RFC 5228 §2.10.6, and the failure is logged.
package sievefilter

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/sieve"
	"facteur.dev/facteur/internal/store"
)

// Scripts is where the accounts' scripts are kept.
type Scripts interface {
	// ActiveSieveScript returns the account's active script; ok is false
	// when it has none.
	ActiveSieveScript(ctx context.Context, accountID int64) (name string, script []byte, ok bool, err error)
	// GetSieveScript returns one of the account's scripts (for include).
	GetSieveScript(ctx context.Context, accountID int64, name string) ([]byte, error)
}

// Store is what the filter reads and writes besides the scripts.
type Store interface {
	store.SieveMemory
	ListMailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error)
	Blobs() store.BlobStore
}

// Filter is the Sieve step of the delivery pipeline.
type Filter struct {
	Scripts  Scripts
	Store    Store
	Hostname string       // environment "host", and the MTA in refusals
	Limits   sieve.Limits // per execution
	Log      *slog.Logger
	// Global returns a global script for include :global (RFC 6609
	// §3.2); nil: none exist.
	Global func(name string) ([]byte, error)
	cache  cache
}

var _ delivery.CopyFilter = (*Filter)(nil)

// FilterCopy implements delivery.CopyFilter. It never fails: whatever
// goes wrong leaves c as it came, and is logged.
func (f *Filter) FilterCopy(ctx context.Context, env *delivery.Envelope, msg delivery.Received, c *delivery.Copy) error {
	if c.Reject != nil || c.Header != nil && c.Discard {
		return nil
	}
	name, src, ok, err := f.Scripts.ActiveSieveScript(ctx, c.Account.ID)
	if err != nil {
		f.log().Warn("sieve: script unavailable, keeping", "account", c.Account.Address, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	script, err := f.compiled(ctx, c.Account.ID, name, src)
	if err != nil {
		f.log().Warn("sieve: script does not compile, keeping", "account", c.Account.Address, "script", name, "err", err)
		return nil
	}
	in, done, err := f.input(ctx, env, msg, c)
	if err != nil {
		f.log().Warn("sieve: message unavailable, keeping", "account", c.Account.Address, "err", err)
		return nil
	}
	defer done()
	res, err := script.Run(ctx, in)
	if err != nil {
		f.log().Warn("sieve: script failed, keeping", "account", c.Account.Address, "script", name, "err", err)
		return nil
	}
	for _, l := range res.Log {
		f.log().Info("sieve: "+l, "account", c.Account.Address, "script", name)
	}
	f.apply(ctx, env, in, res, c)
	return nil
}

func (f *Filter) log() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}

// input is what the script sees of the copy: the message as it will be
// stored (the envelope's and the copy's header lines, then the blob).
func (f *Filter) input(ctx context.Context, env *delivery.Envelope, msg delivery.Received, c *delivery.Copy) (*sieve.Input, func(), error) {
	b, err := f.Store.Blobs().Open(ctx, msg.BlobID)
	if err != nil {
		return nil, nil, err
	}
	m := newPrefixed(env.Headers+c.Headers, b)
	to := c.Reached
	if to == "" {
		to = c.Account.Address
	}
	domain := c.Account.Address[strings.LastIndexByte(c.Account.Address, '@')+1:]
	in := &sieve.Input{
		Message:  m,
		Size:     m.Size(),
		Envelope: sieve.Envelope{From: env.From, To: to},
		User:     c.Account.Address,
		Now:      time.Now(),
		Environment: map[string]string{ // RFC 5183 §4
			"domain": domain, "host": f.Hostname, "location": "MDA", "name": "Facteur",
			"phase": "during", "version": "1",
		},
		SpamPercent: -1, // no spam check feeds it yet
		Mailboxes:   mailboxes{s: f.Store, account: c.Account.ID},
		Memory:      memory{s: f.Store, account: c.Account.ID},
		Limits:      f.Limits,
	}
	return in, func() { b.Close() }, nil
}

var errNoGlobal = errors.New("no global scripts are configured")
