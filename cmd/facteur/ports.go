package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/config"
)

// namedAddr is a [listen] key and its value.
type namedAddr struct {
	name string
	addr *string
}

// tcpListeners are the served listeners that take a TCP address, in the
// order --dev-ports-from numbers them (lmtp is a unix socket; http is not
// served yet).
func tcpListeners(l *config.Listen) []namedAddr {
	return []namedAddr{
		{"smtp", &l.SMTP}, {"submission", &l.Submission}, {"submissions", &l.Submissions},
		{"imap", &l.IMAP}, {"imaps", &l.IMAPS}, {"pop3", &l.POP3}, {"pop3s", &l.POP3S},
		{"managesieve", &l.ManageSieve},
	}
}

// devPortsFrom moves the development instance's TCP listeners to base,
// base+1, … on 127.0.0.1, in tcpListeners' order.
func devPortsFrom(cfg *config.Config, base int) error {
	if !cfg.Dev {
		return usagef("--dev-ports-from is for the development instance; with --config, set the [listen] keys")
	}
	n := len(tcpListeners(&cfg.Listen))
	if base < 1024 || base+n-1 > 65535 {
		return usagef("--dev-ports-from %d: want a port from 1024 to %d", base, 65535-n+1)
	}
	for i, l := range tcpListeners(&cfg.Listen) {
		if *l.addr != "" {
			*l.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(base+i))
		}
	}
	return nil
}

// bindFailure turns the failure of one listener into the list of every
// configured listener whose address cannot be bound, and how to move
// them. Other errors come back as they are. Call it once the listeners
// that did start are closed.
func bindFailure(cfg *config.Config, path string, err error) error {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "listen" {
		return err
	}
	var taken []string
	for _, l := range tcpListeners(&cfg.Listen) {
		if *l.addr == "" {
			continue
		}
		ln, lerr := net.Listen("tcp", *l.addr)
		if lerr != nil {
			taken = append(taken, fmt.Sprintf("  listen.%s %s: %v", l.name, *l.addr, unwrapOp(lerr)))
			continue
		}
		ln.Close()
	}
	if len(taken) == 0 {
		return err
	}
	hint := "Change these [listen] keys in " + path + ", or set them to \"\" to turn those listeners off (docs/CONFIG.md)."
	if cfg.Dev {
		hint = "Move them all with: facteur serve --dev-ports-from 20000\n" +
			"(smtp on 20000, then submission, submissions, imap, imaps, pop3, pop3s, managesieve on the next ports), or give a config file with [listen] keys (docs/CONFIG.md)."
	}
	return fmt.Errorf("%d listener(s) cannot bind:\n%s\n%s", len(taken), strings.Join(taken, "\n"), hint)
}

// unwrapOp is the cause of a listen error without the repeated address.
func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
