package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/managesieve"
	"facteur.dev/facteur/internal/sessions"
	"facteur.dev/facteur/internal/sieve"
	"facteur.dev/facteur/internal/store"
)

var _ server = (*managesieve.Server)(nil)

// sieveChecker decides whether a script may be stored: for ManageSieve's
// PUTSCRIPT and CHECKSCRIPT and for facteur sieve put. It compiles the
// script, the account's scripts it includes read from scripts.
type sieveChecker struct {
	maxSize int64
	scripts interface {
		GetSieveScript(ctx context.Context, accountID int64, name string) ([]byte, error)
	}
	global func(name string) ([]byte, error) // sieveGlobal
}

var _ managesieve.Checker = sieveChecker{}

// Check implements managesieve.Checker. Its error text is what the user
// reads (the NO response, the CLI's error).
func (c sieveChecker) Check(ctx context.Context, account store.Account, name string, script []byte) error {
	if int64(len(script)) > c.maxSize {
		return fmt.Errorf("the script has %d octets, more than sieve.max_script_size (%d)", len(script), c.maxSize)
	}
	if !utf8.Valid(script) {
		return errors.New("the script is not UTF-8 (RFC 5228 §2.2)")
	}
	_, err := sieve.Compile(script, &sieve.CompileOptions{Name: name, MaxSize: int(c.maxSize),
		Include: func(inc string, global bool) ([]byte, error) {
			if global {
				return c.global(inc)
			}
			return c.scripts.GetSieveScript(ctx, account.ID, inc)
		}})
	var list sieve.ErrorList
	if errors.As(err, &list) {
		lines := make([]string, len(list))
		for i, e := range list {
			lines[i] = fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
		}
		return errors.New(strings.Join(lines, "\r\n"))
	}
	return err
}

// sieveNotify is the NOTIFY capability (RFC 5804 §1.7): the enotify
// methods, when the interpreter has enotify (RFC 5436: mailto only).
func sieveNotify() []string {
	if slices.Contains(sieve.Extensions(), "enotify") {
		return []string{"mailto"}
	}
	return nil
}

func sieveLimits(cfg *config.Config) store.SieveLimits {
	return store.SieveLimits{MaxScripts: cfg.Sieve.MaxScripts, MaxSize: cfg.Sieve.MaxScriptSize}
}

// startManageSieve starts the managesieve listener (STARTTLS, RFC 5804).
func startManageSieve(cfg *config.Config, s store.Store, authn *auth.Authenticator, reg *sessions.Registry, tlsConf *tls.Config, log *slog.Logger) (servers, error) {
	if cfg.Listen.ManageSieve == "" {
		return nil, nil
	}
	srv := managesieve.New(managesieve.Options{
		TLS: tlsConf, Store: s, Auth: authn, Checker: sieveChecker{cfg.Sieve.MaxScriptSize, s, sieveGlobal(cfg.SieveGlobalDir())},
		PlaintextNetworks: cfg.PlaintextPrefixes(), Extensions: sieve.Extensions(), Notify: sieveNotify(),
		MaxScriptSize: cfg.Sieve.MaxScriptSize, MaxScripts: cfg.Sieve.MaxScripts,
		MaxConnections: cfg.Limits.MaxConnections, MaxConnsPerIP: cfg.Limits.MaxConnectionsPerIP, Sessions: reg, Log: log,
		LoginTimeout: cfg.Limits.LoginTimeout.Duration, StressTimeout: cfg.Limits.StressTimeout.Duration,
	})
	r, err := serveOn(cfg, "managesieve", cfg.Listen.ManageSieve, srv, srv.Serve, log)
	if err != nil {
		return nil, err
	}
	return servers{r}, nil
}

const sieveUsage = `sieve list ADDRESS | get ADDRESS NAME | put ADDRESS NAME FILE |
       activate ADDRESS NAME | deactivate ADDRESS | delete ADDRESS NAME

A user's Sieve scripts, the same ones ManageSieve clients (port 4190)
see. At most one is active: the one delivery runs for the user.

  list        one line per script: NAME, a tab, its size in octets, and
              a tab and "active" for the active one
  get         writes the script to standard output
  put         stores FILE ("-": standard input) as NAME, replacing the
              script of that name (which stays active if it was); it is
              checked first, as a PUTSCRIPT is, and not stored if it fails
  activate    makes NAME the active script (the active one is deactivated)
  deactivate  leaves the user with no active script
  delete      removes NAME ("del" works too); the active script cannot be
              deleted: deactivate it or activate another first

Limits: sieve.max_script_size, sieve.max_scripts. Changes apply to the
next message, also with the server running.`

// sieveArgs is how many arguments each subcommand takes after its name.
var sieveArgs = map[string]int{"list": 1, "get": 2, "put": 3, "activate": 2, "deactivate": 1, "delete": 2, "del": 2, "check": 1}

func runSieve(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "sieve", sieveUsage)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if n, ok := sieveArgs[firstArg(pos)]; !ok || len(pos) != n+1 {
		fs.Usage()
		return subUsage("sieve", []string{"list ADDRESS", "get ADDRESS NAME", "put ADDRESS NAME FILE",
			"activate ADDRESS NAME", "deactivate ADDRESS", "delete ADDRESS NAME", "check FILE"})
	}
	if pos[0] == "check" { // no account, no store
		return sieveCheck(e, pos[1]) // sievecheck.go
	}
	cfg, s, err := openStore(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := senderAccount(ctx, s, pos[1]) // scripts belong to an account, not an alias
	if err != nil {
		return err
	}
	switch pos[0] {
	case "list":
		return sieveList(ctx, e, s, a)
	case "get":
		return sieveGet(ctx, e, s, a, pos[2])
	case "put":
		return sievePut(ctx, e, cfg, s, a, pos[2], pos[3])
	case "activate":
		return sieveDone(e, a, "script "+pos[2]+" active", sieveErr(s.SetActiveSieveScript(ctx, a.ID, pos[2]), a, pos[2]))
	case "deactivate":
		return sieveDone(e, a, "no active script", s.SetActiveSieveScript(ctx, a.ID, ""))
	}
	return sieveDone(e, a, "script "+pos[2]+" deleted", sieveErr(s.DeleteSieveScript(ctx, a.ID, pos[2]), a, pos[2]))
}

func firstArg(pos []string) string {
	if len(pos) == 0 {
		return ""
	}
	return pos[0]
}

// sieveDone reports a change, or the error that prevented it.
func sieveDone(e *env, a store.Account, what string, err error) error {
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", a.Address, what)
	return nil
}

// sieveErr says what a store error means for the user's script name.
func sieveErr(err error, a store.Account, name string) error {
	if errors.Is(err, store.ErrSieveActive) {
		return fmt.Errorf("script %s of %s is active: deactivate it or activate another first", name, a.Address)
	}
	return explain(err, "script "+name+" of "+a.Address)
}

func sieveList(ctx context.Context, e *env, s store.Store, a store.Account) error {
	list, err := s.ListSieveScripts(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, sc := range list {
		active := ""
		if sc.Active {
			active = "\tactive"
		}
		fmt.Fprintf(e.stdout, "%s\t%d%s\n", sc.Name, sc.Size, active)
	}
	return nil
}

func sieveGet(ctx context.Context, e *env, s store.Store, a store.Account, name string) error {
	content, err := s.GetSieveScript(ctx, a.ID, name)
	if err != nil {
		return sieveErr(err, a, name)
	}
	_, err = e.stdout.Write(content)
	return err
}

// sievePut stores a file as a script after the checks PUTSCRIPT makes.
func sievePut(ctx context.Context, e *env, cfg *config.Config, s store.Store, a store.Account, name, file string) error {
	if err := store.CheckSieveName(name); err != nil {
		return err
	}
	content, err := readScript(e, file, cfg.Sieve.MaxScriptSize)
	if err != nil {
		return err
	}
	err = sieveChecker{cfg.Sieve.MaxScriptSize, s, sieveGlobal(cfg.SieveGlobalDir())}.Check(ctx, a, name, content)
	var w *managesieve.Warnings
	switch {
	case errors.As(err, &w):
		fmt.Fprintf(e.stderr, "warning: %s\n", w.Text)
	case err != nil:
		return fmt.Errorf("%s: %w", file, err)
	}
	if err := s.PutSieveScript(ctx, a.ID, name, content, sieveLimits(cfg)); err != nil {
		if errors.Is(err, store.ErrSieveTooMany) {
			return fmt.Errorf("%s already has %d scripts (sieve.max_scripts): delete one first", a.Address, cfg.Sieve.MaxScripts)
		}
		return sieveErr(err, a, name)
	}
	return sieveDone(e, a, fmt.Sprintf("script %s stored (%d octets)", name, len(content)), nil)
}

// readScript reads FILE ("-": standard input), one octet past the limit
// at most, so that the checker can refuse it without reading it all.
func readScript(e *env, file string, limit int64) ([]byte, error) {
	var r io.Reader = e.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return io.ReadAll(io.LimitReader(r, limit+1))
}

// sieveGlobal reads the global script name (include :global, RFC 6609
// §3.2) from dir as NAME.sieve; a name that is not a plain file name is
// refused.
func sieveGlobal(dir string) func(name string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("global script name %q is not a file name", name)
		}
		if filepath.Ext(name) != ".sieve" {
			name += ".sieve"
		}
		return os.ReadFile(filepath.Join(dir, name))
	}
}
