package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
	s, err := sqlite.Open(ctx, cfg.DataDir, sqlite.Options{Fsync: cfg.Store.Fsync, Owner: owner, ReserveBytes: cfg.Store.ReserveBytes})
	if err != nil {
		return nil, nil, fmt.Errorf("opening the store in %s: %w", cfg.DataDir, err)
	}
	return cfg, s, nil
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
	fs := newFlags(e, "domain", "domain add DOMAIN | del DOMAIN | list | dns DOMAIN")
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
			return addDKIMKeys(e, d)
		case "del":
			d, err := mail.NormalizeDomain(pos[1])
			if err != nil {
				return err
			}
			if err := s.DeleteDomain(ctx, d); err != nil {
				return explain(err, "domain "+d)
			}
			fmt.Fprintf(e.stdout, "domain %s deleted\n", d)
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
	fs := newFlags(e, "user", "user add ADDRESS | del ADDRESS | passwd ADDRESS | list [DOMAIN]")
	stdinPw := fs.Bool("password-stdin", false, "read the password from standard input (first line) instead of prompting")
	quota := fs.Int64("quota", -1, "with add: quota in bytes (0 = unlimited; default: limits.default_quota_bytes)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] != "list" && len(pos) != 2) {
		fs.Usage()
		return subUsage("user", []string{"add ADDRESS", "del ADDRESS", "passwd ADDRESS", "list [DOMAIN]"})
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
		if *quota >= 0 {
			q = *quota
		}
		if _, err := s.CreateAccount(ctx, store.Account{Address: addr.Key(), PasswordHash: hash, SCRAM: scram, QuotaBytes: q}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("domain %s is not local: add it first with 'facteur domain add %s'", addr.Domain, addr.Domain)
			}
			return explain(err, "user "+addr.Key())
		}
		fmt.Fprintf(e.stdout, "user %s added\n", addr.Key())
	case "del":
		key, err := addressKey(pos[1])
		if err != nil {
			return err
		}
		if err := s.DeleteAccount(ctx, key); err != nil {
			return explain(err, "user "+key)
		}
		fmt.Fprintf(e.stdout, "user %s deleted\n", key)
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
			fmt.Fprintf(e.stdout, "%s quota=%d used=%d\n", a.Address, a.QuotaBytes, a.UsedBytes)
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
	fs := newFlags(e, "alias", "alias add ADDRESS TARGET... | del ADDRESS | list\n\nADDRESS may be @domain: a catch-all for that domain.")
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
			return aliasAdd(ctx, e, s, pos[1], pos[2:])
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

func aliasAdd(ctx context.Context, e *env, s store.Store, address string, targets []string) error {
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
