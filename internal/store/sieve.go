package store

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Errors of SieveScripts.
var (
	// ErrSieveActive refuses to delete the active script (RFC 5804
	// §2.10): deactivate it first.
	ErrSieveActive = errors.New("store: the Sieve script is active")
	// ErrSieveTooMany refuses a new script past SieveLimits.MaxScripts.
	ErrSieveTooMany = errors.New("store: too many Sieve scripts")
	// ErrSieveTooLarge refuses a script over SieveLimits.MaxSize.
	ErrSieveTooLarge = errors.New("store: Sieve script too large")
	// ErrSieveName refuses a name that CheckSieveName refuses.
	ErrSieveName = errors.New("store: invalid Sieve script name")
)

// MaxSieveNameLen is the longest script name in octets. RFC 5804 §1.6
// asks servers to accept at least 128 octets; 512 leaves room for long
// names in scripts other than Latin (three octets a character) and keeps
// a LISTSCRIPTS line short.
const MaxSieveNameLen = 512

// SieveScript describes one of an account's scripts, without its content.
type SieveScript struct {
	Name   string
	Size   int64 // octets of content
	Active bool
}

// SieveLimits bound an account's scripts; 0 is no limit.
type SieveLimits struct {
	MaxScripts int   // scripts per account
	MaxSize    int64 // octets per script
}

// SieveScripts keeps each account's Sieve scripts (RFC 5804's model): any
// number of named scripts, of which at most one is active, the one
// delivery runs. Names are compared octet by octet (RFC 5804 §1.6,
// i;octet). Scripts go with the account. The store keeps bytes: whether a
// script compiles is the caller's business, checked before PutSieveScript.
type SieveScripts interface {
	// ListSieveScripts returns the account's scripts sorted by name;
	// none for an account that has none or does not exist.
	ListSieveScripts(ctx context.Context, accountID int64) ([]SieveScript, error)
	// GetSieveScript returns a script's content; ErrNotFound if the
	// account has no script by that name.
	GetSieveScript(ctx context.Context, accountID int64, name string) ([]byte, error)
	// PutSieveScript creates a script or replaces the content of the
	// script of that name, which keeps its active state (RFC 5804 §2.6).
	// ErrSieveName for a name CheckSieveName refuses, ErrSieveTooLarge
	// over lim.MaxSize, ErrSieveTooMany when a new name would pass
	// lim.MaxScripts (checked in the transaction that adds it),
	// ErrNotFound if there is no such account. A refused put changes
	// nothing.
	PutSieveScript(ctx context.Context, accountID int64, name string, content []byte, lim SieveLimits) error
	// RenameSieveScript renames a script, which keeps its content and
	// active state (RFC 5804 §2.11.1). ErrNotFound if there is no script
	// oldName, ErrExists if newName is taken, ErrSieveName if newName is
	// refused.
	RenameSieveScript(ctx context.Context, accountID int64, oldName, newName string) error
	// DeleteSieveScript removes a script; ErrNotFound if there is none by
	// that name, ErrSieveActive if it is the active one (RFC 5804 §2.10).
	DeleteSieveScript(ctx context.Context, accountID int64, name string) error
	// SetActiveSieveScript makes name the account's one active script,
	// or deactivates every script when name is "" (RFC 5804 §2.8).
	// ErrNotFound if there is no script by that name: then nothing
	// changes.
	SetActiveSieveScript(ctx context.Context, accountID int64, name string) error
	// ActiveSieveScript returns the account's active script, for each
	// delivery: ok is false (and err nil) when none is active.
	ActiveSieveScript(ctx context.Context, accountID int64) (name string, content []byte, ok bool, err error)
}

// CheckSieveName applies RFC 5804 §1.6 to a script name: not empty, at
// most MaxSieveNameLen octets of UTF-8 without control characters
// (U+0000–U+001F, U+007F–U+009F) or the line and paragraph separators
// (U+2028, U+2029). It wraps ErrSieveName.
func CheckSieveName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrSieveName)
	case len(name) > MaxSieveNameLen:
		return fmt.Errorf("%w: longer than %d octets", ErrSieveName, MaxSieveNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not UTF-8", ErrSieveName)
	}
	for _, r := range name {
		if r <= 0x1f || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
			return fmt.Errorf("%w: control character %U", ErrSieveName, r)
		}
	}
	return nil
}
