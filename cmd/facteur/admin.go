package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/sqlite"
)

// openStore opens the store named by the configuration, as the admin CLI
// does: safely beside a running server.
func openStore(ctx context.Context, e *env, owner bool) (*config.Config, store.Store, error) {
	cfg, err := config.Load(e.configPath)
	if err != nil {
		return nil, nil, err
	}
	if err := devInstanceExists(cfg, owner); err != nil {
		return nil, nil, err
	}
	s, err := sqlite.Open(ctx, cfg.DataDir, sqlite.Options{Fsync: cfg.Store.Fsync, Owner: owner, ReserveBytes: cfg.Store.ReserveBytes})
	if err != nil {
		return nil, nil, fmt.Errorf("opening the store in %s: %w", cfg.DataDir, err)
	}
	return cfg, s, nil
}

// postmasterTarget says where postmaster@ mail of a domain without its
// own goes: the configured postmaster, or the domain's oldest account.
func postmasterTarget(e *env) string {
	if cfg, err := config.Load(e.configPath); err == nil && cfg.Postmaster != "" {
		return cfg.Postmaster
	}
	return "the domain's first account (or set postmaster in the config)"
}

// devInstanceExists refuses an admin command without --config where no
// development instance has been started: it would make one of its own
// in ./facteur-data, likely not the data of the server the admin means
// (issue 16 §2). serve (the owner) makes it.
func devInstanceExists(cfg *config.Config, owner bool) error {
	if !cfg.Dev || owner {
		return nil
	}
	if _, err := os.Stat(cfg.DataDir); errors.Is(err, os.ErrNotExist) {
		abs, _ := filepath.Abs(cfg.DataDir)
		return fmt.Errorf("no development instance here: %s does not exist. Give the server's config with --config FILE, "+
			"or run this where 'facteur serve' (without --config) runs", abs)
	}
	return nil
}

// withStore runs fn with the store open.
func withStore(ctx context.Context, e *env, fn func(store.Store) error) error {
	_, s, err := openStore(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

func subUsage(name string, subs []string) error {
	return usagef("usage: facteur %s %s", name, strings.Join(subs, "|"))
}

func runDomain(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "domain", "domain add DOMAIN | del [--yes] DOMAIN | list | dns DOMAIN\n\ndel deletes the domain with its accounts and their mail: it asks first on a terminal, and needs --yes otherwise.")
	yes := fs.Bool("yes", false, "with del: delete without asking")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] != "list" && len(pos) != 2) {
		fs.Usage()
		return subUsage("domain", []string{"add DOMAIN", "del DOMAIN", "list", "dns DOMAIN"})
	}
	if pos[0] == "dns" {
		return runDomainDNS(ctx, e, pos[1])
	}
	return withStore(ctx, e, func(s store.Store) error {
		switch pos[0] {
		case "add":
			d, err := mail.NormalizeDomain(pos[1])
			if err != nil {
				return err
			}
			if err := s.AddDomain(ctx, d); err != nil {
				return explain(err, "domain "+d)
			}
			fmt.Fprintf(e.stdout, "domain %s added\n", d)
			fmt.Fprintf(e.stdout, "postmaster@%s (where its DMARC and TLS reports go) reaches %s until an account or alias of that name exists\n",
				d, postmasterTarget(e))
			return addDKIMKeys(e, d)
		case "del":
			d, err := mail.NormalizeDomain(pos[1])
			if err != nil {
				return err
			}
			accts, err := s.ListAccounts(ctx, d)
			if err != nil {
				return err
			}
			msgs, bytes, err := mailOf(ctx, s, accts)
			if err != nil {
				return err
			}
			if err := confirmDelete(e, fmt.Sprintf("domain %s with %d account(s)", d, len(accts)), msgs, bytes, *yes); err != nil {
				return err
			}
			if err := s.DeleteDomain(ctx, d); err != nil {
				return explain(err, "domain "+d)
			}
			fmt.Fprintf(e.stdout, "domain %s deleted (%d accounts, %d messages, %s)\n", d, len(accts), msgs, humanBytes(bytes))
			endedSessions(ctx, e, "domain="+url.QueryEscape(d)) // control.go
		case "list":
			ds, err := s.ListDomains(ctx)
			if err != nil {
				return err
			}
			for _, d := range ds {
				fmt.Fprintln(e.stdout, d)
			}
		default:
			return usagef("unknown domain command %q", pos[0])
		}
		return nil
	})
}

// explain words store errors for an administrator.
func explain(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%s already exists", what)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s not found", what)
	}
	return err
}

func runUser(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user", userUsage)
	stdinPw := fs.Bool("password-stdin", false, "read the password from standard input (first line) instead of prompting")
	quota := sizeFlag(-1)
	fs.Var(&quota, "quota", "with add or set: quota in `bytes`, or with a K, M or G suffix (0 = unlimited; add's default: limits.default_quota_bytes)")
	disable := fs.Bool("disable", false, "with set: disable the account (logins fail, mail to it is refused; its mail is kept)")
	enable := fs.Bool("enable", false, "with set: enable the account again")
	yes := fs.Bool("yes", false, "with del: delete without asking")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] != "list" && len(pos) != 2) {
		fs.Usage()
		return subUsage("user", []string{"add ADDRESS", "del ADDRESS", "passwd ADDRESS", "set ADDRESS", "list [DOMAIN]"})
	}
	cfg, s, err := openStore(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	switch pos[0] {
	case "add", "passwd":
		addr, err := mail.ParseAddress(pos[1])
		if err != nil {
			return err
		}
		pw, err := readPassword(e, *stdinPw)
		if err != nil {
			return err
		}
		hash, scram, err := hashes(pw)
		if err != nil {
			return err
		}
		if pos[0] == "passwd" {
			if err := s.SetPassword(ctx, addr.Key(), hash, scram); err != nil {
				return explain(err, "user "+addr.Key())
			}
			fmt.Fprintf(e.stdout, "password of %s changed\n", addr.Key())
			return nil
		}
		q := cfg.Limits.DefaultQuotaBytes
		if quota >= 0 {
			q = int64(quota)
		}
		if _, err := s.CreateAccount(ctx, store.Account{Address: addr.Key(), PasswordHash: hash, SCRAM: scram, QuotaBytes: q}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("domain %s is not local: add it first with 'facteur domain add %s'", addr.Domain, addr.Domain)
			}
			return explain(err, "user "+addr.Key())
		}
		fmt.Fprintf(e.stdout, "user %s added\n", addr.Key())
	case "set":
		return userSet(ctx, e, s, pos[1], int64(quota), *disable, *enable)
	case "del":
		return userDel(ctx, e, s, pos[1], *yes)
	case "list":
		domain := ""
		if len(pos) > 1 {
			domain = strings.ToLower(pos[1])
		}
		as, err := s.ListAccounts(ctx, domain)
		if err != nil {
			return err
		}
		for _, a := range as {
			state := ""
			if a.Disabled {
				state = " disabled"
			}
			fmt.Fprintf(e.stdout, "%s quota=%d used=%d%s\n", a.Address, a.QuotaBytes, a.UsedBytes, state)
		}
	default:
		return usagef("unknown user command %q", pos[0])
	}
	return nil
}

func hashes(pw string) (string, string, error) {
	hash, err := auth.HashPassword(pw, auth.DefaultParams)
	if err != nil {
		return "", "", err
	}
	scram, err := auth.NewSCRAMCredentials(pw)
	return hash, scram, err
}

// readPassword reads the first line of stdin, or prompts twice without
// echo on a terminal.
func readPassword(e *env, fromStdin bool) (string, error) {
	f, isFile := e.stdin.(*os.File)
	if fromStdin || !isFile || !term.IsTerminal(int(f.Fd())) {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("reading the password from standard input: %w", err)
		}
		return checkPassword(strings.TrimRight(line, "\r\n"))
	}
	fmt.Fprint(e.stderr, "Password: ")
	p1, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(e.stderr, "Again: ")
	p2, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("the passwords differ")
	}
	return checkPassword(string(p1))
}

func checkPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", errors.New("the password must have at least 8 characters")
	}
	return pw, nil
}

func runAlias(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "alias", aliasUsage)
	force := fs.Bool("force", false, "with add: also over an account, or to local targets that do not exist yet")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	ok := len(pos) > 0 && ((pos[0] == "add" && len(pos) >= 3) || (pos[0] == "del" && len(pos) == 2) || (pos[0] == "list" && len(pos) == 1))
	if !ok {
		fs.Usage()
		return subUsage("alias", []string{"add ADDRESS TARGET...", "del ADDRESS", "list"})
	}
	return withStore(ctx, e, func(s store.Store) error {
		switch pos[0] {
		case "add":
			return aliasAdd(ctx, e, s, pos[1], pos[2:], *force)
		case "del":
			key, err := addressKey(pos[1])
			if err != nil {
				return err
			}
			if err := s.DeleteAlias(ctx, key); err != nil {
				return explain(err, "alias "+key)
			}
			fmt.Fprintf(e.stdout, "alias %s deleted\n", key)
		case "list":
			as, err := s.ListAliases(ctx)
			if err != nil {
				return err
			}
			for _, a := range as {
				fmt.Fprintf(e.stdout, "%s -> %s\n", a.Address, strings.Join(a.Targets, ", "))
			}
		}
		return nil
	})
}

// addressKey is the store's key for an address or a catch-all "@domain":
// lowercase, with the domain in Unicode form, as add stored it.
func addressKey(s string) (string, error) {
	if d, ok := strings.CutPrefix(s, "@"); ok {
		d, err := mail.NormalizeDomain(d)
		return "@" + d, err
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Key(), nil
}

func aliasAdd(ctx context.Context, e *env, s store.Store, address string, targets []string, force bool) error {
	var domain string
	if d, ok := strings.CutPrefix(address, "@"); ok {
		domain = d
	} else {
		a, err := mail.ParseAddress(address)
		if err != nil {
			return err
		}
		address, domain = a.Key(), a.Domain
	}
	domain, err := mail.NormalizeDomain(domain)
	if err != nil {
		return err
	}
	if strings.HasPrefix(address, "@") {
		address = "@" + domain
	}
	if ok, err := s.HasDomain(ctx, domain); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("domain %s is not local: add it first with 'facteur domain add %s'", domain, domain)
		}
		return err
	}
	var clean []string
	for _, t := range targets {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return err
		}
		clean = append(clean, a.Key())
	}
	if err := aliasCheck(ctx, e, s, address, clean, force); err != nil {
		return err
	}
	if err := s.AddAlias(ctx, address, clean); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "alias %s -> %s\n", address, strings.Join(clean, ", "))
	return nil
}

func runMailbox(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "mailbox", "mailbox status ADDRESS\n\nPrints one line per mailbox: NAME messages=N unseen=N uidnext=N size=BYTES")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "status" {
		fs.Usage()
		return subUsage("mailbox", []string{"status ADDRESS"})
	}
	return withStore(ctx, e, func(s store.Store) error {
		a, err := s.LookupAccount(ctx, pos[1])
		if err != nil {
			return explain(err, "user "+pos[1])
		}
		mbs, err := s.ListMailboxes(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, mb := range mbs {
			fmt.Fprintf(e.stdout, "%s messages=%d unseen=%d uidnext=%d size=%d\n", mb.Name, mb.Messages, mb.Unseen, mb.UIDNext, mb.Size)
		}
		return nil
	})
}
