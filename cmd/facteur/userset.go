package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/store"
)

const userUsage = `user add ADDRESS | del [--yes] ADDRESS | passwd ADDRESS | set ADDRESS | list [DOMAIN]

  add     creates the account (prompts for its password, or --password-stdin)
  del     deletes the account and its mail: asks first on a terminal, needs
          --yes otherwise
  passwd  sets a new password
  set     changes the quota (--quota SIZE) or the state (--disable, --enable)
  list    the accounts: quota, bytes used, and "disabled" for those that are`

// sizeFlag is a byte count given as 1234, 500K, 20M or 1G (powers of
// 1024); negative when not set.
type sizeFlag int64

func (f *sizeFlag) String() string { return strconv.FormatInt(int64(*f), 10) }

func (f *sizeFlag) Set(given string) error {
	s, mult := given, int64(1)
	switch strings.ToUpper(s[len(s)-min(len(s), 1):]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size (bytes, or a number with K, M or G)", given)
	}
	*f = sizeFlag(n * mult)
	return nil
}

// userSet changes an account's quota or state.
func userSet(ctx context.Context, e *env, s store.Store, address string, quota int64, disable, enable bool) error {
	if disable && enable {
		return usagef("--disable and --enable together")
	}
	if quota < 0 && !disable && !enable {
		return usagef("user set %s: give --quota SIZE, --disable or --enable", address)
	}
	key, err := addressKey(address)
	if err != nil {
		return err
	}
	if quota >= 0 {
		if err := s.SetQuota(ctx, key, quota); err != nil {
			return explain(err, "user "+key)
		}
		fmt.Fprintf(e.stdout, "%s: quota %d bytes\n", key, quota)
	}
	if disable || enable {
		if err := s.SetDisabled(ctx, key, disable); err != nil {
			return explain(err, "user "+key)
		}
		fmt.Fprintf(e.stdout, "%s: %s\n", key, map[bool]string{true: "disabled", false: "enabled"}[disable])
		if disable {
			endedSessions(ctx, e, "account="+url.QueryEscape(key)) // control.go
		}
	}
	return nil
}

// userDel deletes an account and its mail, once confirmed.
func userDel(ctx context.Context, e *env, s store.Store, address string, yes bool) error {
	key, err := addressKey(address)
	if err != nil {
		return err
	}
	a, err := s.LookupAccount(ctx, key)
	if err != nil {
		return explain(err, "user "+key)
	}
	msgs, bytes, err := mailOf(ctx, s, []store.Account{a})
	if err != nil {
		return err
	}
	if err := confirmDelete(e, "user "+key, msgs, bytes, yes); err != nil {
		return err
	}
	if err := s.DeleteAccount(ctx, key); err != nil {
		return explain(err, "user "+key)
	}
	fmt.Fprintf(e.stdout, "user %s deleted (%d messages, %s)\n", key, msgs, humanBytes(bytes))
	endedSessions(ctx, e, "account="+url.QueryEscape(key))
	return nil
}
