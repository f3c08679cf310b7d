// Package managesieve is Facteur's ManageSieve server (RFC 5804), written
// here without a library: users upload, list, activate, download and
// delete their Sieve scripts (RFC 5228) over it, with STARTTLS (§2.2) and
// AUTHENTICATE PLAIN or SCRAM-SHA-256 (§2.1) through internal/auth, its
// failure limits and auth.plaintext_networks.
//
// Scripts live in the store (store.SieveScripts, never a concrete
// backend). Whether a script compiles is asked of a Checker before it is
// stored: PUTSCRIPT stores a script only when it passes, so a script that
// fails leaves the account's scripts and its active script as they were.
//
// One file per part: wire.go (the command parser: atoms, quoted strings,
// literals {N+} and {N}), session.go (reading commands, replies, states),
// auth.go (CAPABILITY, STARTTLS, AUTHENTICATE, UNAUTHENTICATE, LOGOUT,
// NOOP), scripts.go (HAVESPACE, PUTSCRIPT, CHECKSCRIPT, LISTSCRIPTS,
// SETACTIVE, GETSCRIPT, DELETESCRIPT, RENAMESCRIPT).
package managesieve

import (
	"cmp"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/connsrv"
	"facteur.dev/facteur/internal/netlimit"
	"facteur.dev/facteur/internal/sessions"
	"facteur.dev/facteur/internal/store"
)

// Store is what ManageSieve needs from storage.
type Store interface {
	store.SieveScripts
}

// Checker compiles a script before it is stored (PUTSCRIPT) or instead
// (CHECKSCRIPT). A nil error accepts the script; a *Warnings accepts it
// and its text reaches the client in OK (WARNINGS); any other error
// refuses it and its text is the NO response's (RFC 5804 §2.6). account
// has its ID and Address set.
type Checker interface {
	Check(ctx context.Context, account store.Account, name string, script []byte) error
}

// Warnings is the error a Checker returns for a script that compiles
// with warnings (RFC 5804 §1.3 WARNINGS).
type Warnings struct{ Text string }

func (w *Warnings) Error() string { return w.Text }

// Options configure one listener's server. Zero values take defaults.
type Options struct {
	TLS               *tls.Config // nil: no STARTTLS
	Store             Store
	Auth              *auth.Authenticator
	Checker           Checker
	PlaintextNetworks []netip.Prefix // logins allowed without TLS from these
	// Extensions is the SIEVE capability: the extensions the compiler
	// knows (RFC 5804 §1.7), e.g. "fileinto", "vacation".
	Extensions []string
	// MaxRedirects is the MAXREDIRECTS capability (0: not announced) and
	// Notify the NOTIFY capability's methods (none: not announced).
	MaxRedirects int
	Notify       []string
	// MaxScriptSize (octets, default 64 KiB) and MaxScripts (per account,
	// default 32) bound what an account stores; MaxScriptSize also bounds
	// every literal.
	MaxScriptSize int64
	MaxScripts    int
	IdleTimeout   time.Duration // default 30m
	MaxLineLength int           // a command line without its literals, default 8192
	// MaxUnauthCommands ends a session that has sent this many commands
	// without logging in (default 50).
	MaxUnauthCommands int
	MaxConnections    int
	MaxConnsPerIP     int
	// LoginTimeout bounds the wait for each command before login,
	// StressTimeout the same once the listener holds three quarters of
	// MaxConnections (netlimit); defaults netlimit's.
	LoginTimeout, StressTimeout time.Duration
	// Sessions records logged-in sessions, so that deleting or disabling
	// an account ends them at once; nil records nothing.
	Sessions *sessions.Registry
	Log      *slog.Logger
}

func setDefaults(o *Options) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxScriptSize == 0 {
		o.MaxScriptSize = 64 << 10
	}
	if o.MaxScripts == 0 {
		o.MaxScripts = 32
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.MaxLineLength == 0 {
		o.MaxLineLength = 8192
	}
	if o.MaxUnauthCommands == 0 {
		o.MaxUnauthCommands = 50
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 1000
	}
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = 20
	}
}

// Server serves ManageSieve on the listeners given to Serve.
type Server struct {
	opts  Options
	log   *slog.Logger
	conns connsrv.Server
}

// New builds a server; call Serve with a listener.
func New(opts Options) *Server {
	setDefaults(&opts)
	s := &Server{opts: opts, log: opts.Log.With("listener", "managesieve")}
	s.conns.Log = s.log
	return s
}

// ErrServerClosed is returned by Serve after Close or Shutdown.
var ErrServerClosed = connsrv.ErrServerClosed

// Serve accepts connections on l until Close or Shutdown.
func (s *Server) Serve(l net.Listener) error {
	l = netlimit.New(l, netlimit.Options{Max: s.opts.MaxConnections, PerIP: s.opts.MaxConnsPerIP,
		Refusal: "BYE (TRYLATER) \"Too many connections, try again later\"\r\n", Log: s.log, // RFC 5804 §1.3
		// As IMAP's and POP3's: a client that has not logged in waits at
		// most the login timeout per command, less under load.
		LoginTimeout:  cmp.Or(s.opts.LoginTimeout, netlimit.DefaultLoginTimeout),
		StressTimeout: cmp.Or(s.opts.StressTimeout, netlimit.DefaultStressTimeout)})
	return s.conns.Serve(l, func(c net.Conn) connsrv.Conn { return newSession(s, c) })
}

// Shutdown stops accepting, closes idle sessions and waits for busy ones
// to finish their command, until ctx ends; then it closes what remains.
func (s *Server) Shutdown(ctx context.Context) error { return s.conns.Shutdown(ctx) }

// Close closes the listeners and every connection at once.
func (s *Server) Close() error { return s.conns.Close() }
