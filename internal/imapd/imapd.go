// Package imapd is Facteur's IMAP server: IMAP4rev1 (RFC 3501) by default
// and IMAP4rev2 (RFC 9051) once a client sends ENABLE IMAP4rev2, over the
// store interfaces (never a concrete backend). Commands are read with
// package imapwire and FETCH data is rendered by package fetch.
//
// A session runs one command at a time: commands a client pipelines wait
// in the socket, so the commands in flight per connection are bounded by
// one, and the bytes of one command by imapwire.Limits. While a mailbox is
// selected, the session keeps a compact view of it (UIDs, flags, MODSEQs:
// see view.go) and brings it up to date from the store's change feed
// (Watch, ChangedSince, Vanished) before and after each command and
// during IDLE, reporting what changed as EXISTS, FETCH and EXPUNGE (or
// VANISHED with QRESYNC) under the rules of RFC 9051 §7.5.1.
//
// \Recent (RFC 3501 §2.3.2) is shared out by the store: each new message
// is recent in the one session that is first told of it (recent.go).
// A keyword is sent in a FETCH only after a FLAGS response named it
// (view.go, announce).
//
// One file per command group: session.go (reading commands, states,
// responses, the command table), capability.go (CAPABILITY, ENABLE, ID,
// NAMESPACE, NOOP, LOGOUT), login.go (STARTTLS, LOGIN, AUTHENTICATE),
// list.go (LIST, LSUB), mailbox.go (CREATE, DELETE, RENAME, SUBSCRIBE,
// STATUS), select.go (SELECT, EXAMINE, UNSELECT, CLOSE, QRESYNC),
// view.go (the selected mailbox and its updates), recent.go (\Recent), views.go (the view
// cache), fetch.go (FETCH), flags.go (STORE), copy.go (COPY, MOVE,
// EXPUNGE), append.go and catenate.go (APPEND, CATENATE), idle.go
// (IDLE), notify.go (NOTIFY, RFC 5465), quota.go (QUOTA),
// compress.go (COMPRESS), urlauth.go, urlfetch.go and imapurl.go
// (GENURLAUTH, RESETKEY, URLFETCH, IMAP URLs), search.go, sort.go and
// thread.go (SEARCH, SORT, THREAD through package search).
package imapd

import (
	"cmp"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/connsrv"
	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/netlimit"
	"facteur.dev/facteur/internal/sessions"
	"facteur.dev/facteur/internal/store"
)

// Store is what IMAP needs from storage: mail, blobs, the account's
// quota and usage (QUOTA), and mailbox access keys (URLAUTH).
type Store interface {
	store.Mail
	store.AccessKeys
	Blobs() store.BlobStore
	LookupAccount(ctx context.Context, address string) (store.Account, error)
}

// Options configure one listener's server. Zero values take defaults.
type Options struct {
	Hostname          string
	TLS               *tls.Config // nil: no STARTTLS
	ImplicitTLS       bool        // the listener is already TLS (port 993)
	Store             Store
	Auth              *auth.Authenticator
	PlaintextNetworks []netip.Prefix // logins allowed without TLS from these
	// IdleTimeout is the autologout timer; default and minimum 30
	// minutes (RFC 9051 §5.4).
	IdleTimeout time.Duration
	// Limits bound each command; Limits.MaxLiteral is also APPENDLIMIT.
	Limits imapwire.Limits
	// NotifyOverflow is how many unsolicited responses NOTIFY sends while
	// the client sends nothing before it turns NOTIFY off with
	// NOTIFICATIONOVERFLOW (RFC 5465 §5.8); default 10,000.
	NotifyOverflow int
	// MaxConnections and MaxConnsPerIP bound connections (netlimit);
	// MaxSessionsPerAccount bounds logged-in sessions of one account.
	MaxConnections        int
	MaxConnsPerIP         int
	MaxSessionsPerAccount int
	// LoginTimeout bounds the wait for each command before login (default
	// 3 minutes, Dovecot's login processes' figure; RFC 9051 §5.4 allows
	// "a shortened pre-authentication timer"), StressTimeout the same
	// while the listener holds three quarters of MaxConnections (default
	// 10 s, Postfix's stress value): netlimit's idle.go.
	LoginTimeout, StressTimeout time.Duration
	// Shared is shared by every listener of one process: the per-account
	// session count (imap and imaps together) and the cache of mailbox
	// views; nil gives the server its own.
	Shared *Shared
	// RecentLogins records the client IP and account of every successful
	// login, for POP-before-SMTP on the submission listeners; nil records
	// nothing.
	RecentLogins *auth.RecentLogins
	// Sessions records logged-in sessions, so that deleting or disabling
	// an account ends them at once; nil records nothing.
	Sessions *sessions.Registry
	Log      *slog.Logger
}

// minIdle is RFC 9051 §5.4's minimum autologout timer (a variable only
// so that a test can shorten it).
var minIdle = 30 * time.Minute

func setDefaults(o *Options) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.IdleTimeout < minIdle {
		o.IdleTimeout = minIdle
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 1000
	}
	o.LoginTimeout = cmp.Or(o.LoginTimeout, netlimit.DefaultLoginTimeout)
	o.StressTimeout = cmp.Or(o.StressTimeout, netlimit.DefaultStressTimeout)
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = 50
	}
	if o.NotifyOverflow == 0 {
		o.NotifyOverflow = 10_000
	}
	if o.MaxSessionsPerAccount == 0 {
		o.MaxSessionsPerAccount = 50
	}
	if o.Shared == nil {
		o.Shared = NewShared()
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
}

// Server serves IMAP on the listeners given to Serve.
type Server struct {
	opts  Options
	log   *slog.Logger
	conns connsrv.Server
}

// New builds a server; call Serve with a listener.
func New(opts Options) *Server {
	setDefaults(&opts)
	s := &Server{opts: opts, log: opts.Log.With("listener", "imap")}
	s.conns.Log = s.log
	return s
}

// ErrServerClosed is returned by Serve after Close or Shutdown.
var ErrServerClosed = connsrv.ErrServerClosed

// Serve accepts connections on l until Close or Shutdown.
func (s *Server) Serve(l net.Listener) error {
	l = netlimit.New(l, netlimit.Options{Max: s.opts.MaxConnections, PerIP: s.opts.MaxConnsPerIP,
		Refusal: "* BYE [UNAVAILABLE] Too many connections, try again later\r\n", // RFC 9051 §7.1.5
		Log:     s.log, TLS: netlimit.ImplicitTLS(s.opts.ImplicitTLS, s.opts.TLS),
		LoginTimeout: s.opts.LoginTimeout, StressTimeout: s.opts.StressTimeout})
	return s.conns.Serve(l, func(c net.Conn) connsrv.Conn {
		if s.opts.ImplicitTLS {
			c = tls.Server(c, s.opts.TLS)
		}
		return newSession(s, c)
	})
}

// Shutdown stops accepting, ends the sessions waiting for their client
// (between commands or in IDLE) with BYE, and waits for busy ones to
// finish their command, until ctx ends; then it closes what remains.
func (s *Server) Shutdown(ctx context.Context) error { return s.conns.Shutdown(ctx) }

// Close closes the listeners and every connection at once, and waits for
// the sessions to end.
func (s *Server) Close() error { return s.conns.Close() }

// Shared is the state of a process's IMAP listeners: logged-in sessions
// per account, for Options.MaxSessionsPerAccount and for telling them of
// another session's RESETKEY (urlauth.go), and the mailbox view cache
// (views.go).
type Shared struct {
	mu       sync.Mutex
	sessions map[int64]map[*keyResets]bool // by account, each session by its keyResets
	views    *viewCache
}

// NewShared returns the state for one process.
func NewShared() *Shared {
	return &Shared{sessions: map[int64]map[*keyResets]bool{}, views: newViewCache(defaultCacheMessages)}
}

// acquire counts a session of account, known by r, unless the account
// already has max.
func (c *Shared) acquire(account int64, r *keyResets, max int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sessions[account]) >= max {
		return false
	}
	if c.sessions[account] == nil {
		c.sessions[account] = map[*keyResets]bool{}
	}
	c.sessions[account][r] = true
	return true
}

func (c *Shared) release(account int64, r *keyResets) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if delete(c.sessions[account], r); len(c.sessions[account]) == 0 {
		delete(c.sessions, account)
	}
}

// resetKeys tells the sessions of account other than from that the key
// of mailbox was reset (0: every key of the account).
func (c *Shared) resetKeys(account int64, from *keyResets, mailbox int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for r := range c.sessions[account] {
		if r != from {
			r.add(mailbox)
		}
	}
}
