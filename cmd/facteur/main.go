// Command facteur is the Facteur mail server and its administration tool:
// one binary that receives, stores and serves mail for a set of domains.
//
//	facteur [--config FILE] serve
//	facteur [--config FILE] domain add|del|list DOMAIN
//	facteur [--config FILE] user add|del|passwd|list ADDRESS
//	facteur [--config FILE] alias add|del|list ADDRESS [TARGET…]
//	facteur [--config FILE] mailbox status ADDRESS
//	facteur [--config FILE] sender allow|block|list|delete ADDRESS [DOMAIN]
//	facteur [--config FILE] sieve list|get|put|activate|deactivate|delete ADDRESS [NAME [FILE]]
//	facteur [--config FILE] queue list|show|flush|hold|release|delete [ID]
//	facteur [--config FILE] dmarc send [--dry-run] | reports DOMAIN [--days N] | import ADDRESS
//	facteur version
//
// This is the only package that picks a storage backend and wires the
// parts together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// env is what a command runs with: its streams, so tests can drive run().
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	configPath     string
	help           bool // the command line asks for help: usage goes to stdout
}

// usageOut is where usage text goes: standard output when it was asked
// for (-h, --help), standard error when it explains a mistake.
func (e *env) usageOut() io.Writer {
	if e.help {
		return e.stdout
	}
	return e.stderr
}

// asksHelp reports whether args hold -h, -help or --help before any "--".
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run every enabled listener until SIGTERM/SIGINT", runServe},
		{"domain", "add, delete or list local domains", runDomain},
		{"user", "add, delete, list users or change a password", runUser},
		{"alias", "add, delete or list aliases (@domain is a catch-all)", runAlias},
		{"mailbox", "show a user's mailboxes", runMailbox},
		{"sender", "a user's allow and block lists of authenticated sender domains", runSender},
		{"sieve", "list, show, store, activate or delete a user's Sieve scripts", runSieve},
		{"queue", "list, show, flush, hold, release or delete outbound mail (running server)", runQueue},
		{"dmarc", "send DMARC aggregate reports now, show or import those received", runDMARC},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "facteur:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, e *env) error {
	e.help = asksHelp(args)
	fs := flag.NewFlagSet("facteur", flag.ContinueOnError)
	fs.SetOutput(e.usageOut())
	fs.StringVar(&e.configPath, "config", "", "configuration `file` (TOML); none: the development instance in ./facteur-data")
	fs.Usage = func() { topUsage(e.usageOut(), fs) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		topUsage(e.stderr, fs)
		return usagef("no command given")
	}
	name := fs.Arg(0)
	if name == "help" {
		topUsage(e.stdout, fs)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, fs.Args()[1:])
		}
	}
	topUsage(e.stderr, fs)
	return usagef("unknown command %q", name)
}

func topUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Facteur %s — a complete mail server in one binary.\n\nUsage: facteur [--config FILE] COMMAND [ARGS]\n\nCommands:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nRun 'facteur COMMAND --help' for a command's usage.\n")
}

// newFlags makes a subcommand's flag set; it also accepts --config so the
// flag may come after the command.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.usageOut())
	fs.StringVar(&e.configPath, "config", e.configPath, "configuration `file` (TOML)")
	fs.Usage = func() {
		fmt.Fprintf(e.usageOut(), "Usage: facteur %s\n", usage)
		if hasFlags(fs) {
			fmt.Fprintf(e.usageOut(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "version", "version")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "facteur %s\n", version)
	return nil
}
