// Package pop3d is Facteur's POP3 server (RFC 1939), written here without a
// library: CAPA (RFC 2449), STLS (RFC 2595), AUTH with PLAIN and
// SCRAM-SHA-256 (RFC 5034), UTF8 (RFC 6856) and the response codes of
// RFC 2449 §8 and RFC 3206.
//
// The maildrop is the account's INBOX, read through the store interfaces
// (never a concrete backend). A session takes a snapshot of the INBOX when
// it logs in; DELE only marks; the UPDATE state at QUIT applies every mark
// as one store change (an expunge, a move to Trash, or a $POP3Deleted
// keyword, see DeleteMode), so IMAP sessions see POP3's deletions as
// ordinary changes. A connection that drops removes nothing.
//
// One file per command group: session.go (reading commands, replies,
// states), authorization.go (USER, PASS, AUTH, STLS, UTF8, CAPA),
// transaction.go (STAT, LIST, UIDL, DELE, NOOP, RSET), retrieve.go (RETR,
// TOP), maildrop.go (the snapshot, its lock and the UPDATE state).
package pop3d

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/connsrv"
	"facteur.dev/facteur/internal/netlimit"
	"facteur.dev/facteur/internal/sessions"
	"facteur.dev/facteur/internal/store"
)

// Store is what POP3 needs from storage.
type Store interface {
	store.Mail
	Blobs() store.BlobStore
}

// DeleteMode is what a committed DELE does to a message.
type DeleteMode int

// The delete modes, config key pop3.delete.
const (
	DeleteExpunge DeleteMode = iota // remove the message ("expunge", the default)
	DeleteTrash                     // move it to the account's Trash ("trash")
	DeleteHide                      // keep it, flagged HiddenKeyword ("hide")
)

// HiddenKeyword marks messages deleted over POP3 in DeleteHide mode; such
// messages are never part of a maildrop, whatever the mode.
const HiddenKeyword = "$POP3Deleted"

// ParseDeleteMode maps the config value to a DeleteMode.
func ParseDeleteMode(s string) (DeleteMode, error) {
	switch s {
	case "expunge", "":
		return DeleteExpunge, nil
	case "trash":
		return DeleteTrash, nil
	case "hide":
		return DeleteHide, nil
	}
	return 0, fmt.Errorf("pop3d: unknown delete mode %q", s)
}

// Options configure one listener's server. Zero values take defaults.
type Options struct {
	Hostname          string
	TLS               *tls.Config // nil: no STLS
	ImplicitTLS       bool        // the listener is already TLS (port 995)
	Store             Store
	Auth              *auth.Authenticator
	PlaintextNetworks []netip.Prefix // logins allowed without TLS from these
	Delete            DeleteMode
	// Locks is shared by every listener of one process so a maildrop is
	// locked across pop3 and pop3s; nil gives the server its own.
	Locks          *Locks
	IdleTimeout    time.Duration // default and minimum 10m (RFC 1939 §3)
	MaxLineLength  int           // command and SASL lines, default 4096
	MaxConnections int
	MaxConnsPerIP  int
	// LoginTimeout bounds the wait for each command before login (default
	// 3 minutes, as Dovecot's pop3-login: RFC 1939 §3's 10-minute minimum
	// is kept for logged-in sessions only, since before login a silent
	// client only holds a slot), StressTimeout the same while the listener holds three
	// quarters of MaxConnections (default 10 s): netlimit's idle.go.
	LoginTimeout, StressTimeout time.Duration
	// RecentLogins records the client IP and account of every successful
	// login, for POP-before-SMTP on the submission listeners; nil records
	// nothing.
	RecentLogins *auth.RecentLogins
	// Sessions records logged-in sessions, so that deleting or disabling
	// an account ends them at once (without UPDATE: nothing is deleted);
	// nil records nothing.
	Sessions *sessions.Registry
	Log      *slog.Logger
}

// minIdle is RFC 1939 §3's minimum autologout timer.
const minIdle = 10 * time.Minute

func setDefaults(o *Options) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Locks == nil {
		o.Locks = NewLocks()
	}
	if o.IdleTimeout < minIdle {
		o.IdleTimeout = minIdle
	}
	if o.MaxLineLength == 0 {
		// RFC 2449 §4 bounds commands to 255 octets, but RFC 5034 §4
		// lifts that for AUTH responses.
		o.MaxLineLength = 4096
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 1000
	}
	o.LoginTimeout = cmp.Or(o.LoginTimeout, netlimit.DefaultLoginTimeout)
	o.StressTimeout = cmp.Or(o.StressTimeout, netlimit.DefaultStressTimeout)
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = 20
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
}

// Server serves POP3 on the listeners given to Serve.
type Server struct {
	opts  Options
	log   *slog.Logger
	conns connsrv.Server
}

// New builds a server; call Serve with a listener.
func New(opts Options) *Server {
	setDefaults(&opts)
	s := &Server{opts: opts, log: opts.Log.With("listener", "pop3")}
	s.conns.Log = s.log
	return s
}

// ErrServerClosed is returned by Serve after Close or Shutdown.
var ErrServerClosed = connsrv.ErrServerClosed

// Serve accepts connections on l until Close or Shutdown.
func (s *Server) Serve(l net.Listener) error {
	l = netlimit.New(l, netlimit.Options{Max: s.opts.MaxConnections, PerIP: s.opts.MaxConnsPerIP,
		Refusal: "-ERR [SYS/TEMP] Too many connections, try again later\r\n", // RFC 3206 §4
		Log:     s.log, TLS: netlimit.ImplicitTLS(s.opts.ImplicitTLS, s.opts.TLS),
		LoginTimeout: s.opts.LoginTimeout, StressTimeout: s.opts.StressTimeout})
	return s.conns.Serve(l, func(c net.Conn) connsrv.Conn {
		if s.opts.ImplicitTLS {
			c = tls.Server(c, s.opts.TLS)
		}
		return newSession(s, c)
	})
}

// Shutdown stops accepting, closes idle sessions and waits for busy ones
// to finish their command, until ctx ends; then it closes what remains.
// Sessions closed this way remove nothing (RFC 1939 §6).
func (s *Server) Shutdown(ctx context.Context) error { return s.conns.Shutdown(ctx) }

// Close closes the listeners and every connection at once, and waits for
// the sessions to end.
func (s *Server) Close() error { return s.conns.Close() }

// Locks is the set of maildrops in use. It is in-process: one Facteur
// process owns the store (the SQLite backend opens it as sole owner), so
// a mutex-guarded set is enough to give one POP3 session per maildrop
// (RFC 1939 §8). A backend shared by several nodes would need a lock in
// the store instead.
type Locks struct {
	mu   sync.Mutex
	held map[int64]bool
}

// NewLocks returns an empty set.
func NewLocks() *Locks { return &Locks{held: map[int64]bool{}} }

// TryLock takes the maildrop of a mailbox ID; it returns false if taken.
func (l *Locks) TryLock(id int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[id] {
		return false
	}
	l.held[id] = true
	return true
}

// Unlock releases a maildrop taken with TryLock.
func (l *Locks) Unlock(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, id)
}
