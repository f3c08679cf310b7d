// Package smtpd is Facteur's SMTP front-end on github.com/emersion/go-smtp:
// the MX listener (port 25, local recipients only), submission (587 with
// STARTTLS, 465 with implicit TLS, AUTH required) and LMTP (a reply per
// recipient, RFC 2033). It turns protocol events into calls on the
// delivery pipeline and mail.Error replies into SMTP replies; it knows
// nothing of storage.
package smtpd

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/netlimit"
)

// Mode selects what a listener is for.
type Mode int

// The listener kinds.
const (
	MX         Mode = iota // port 25: mail from other servers
	Submission             // ports 587/465: mail from authenticated users
	LMTP                   // local delivery from a front MTA
)

func (m Mode) String() string {
	return [...]string{"smtp", "submission", "lmtp"}[m]
}

// Options configure one listener's server. Zero limits take defaults.
type Options struct {
	Mode        Mode
	Hostname    string
	TLS         *tls.Config // nil: no STARTTLS
	ImplicitTLS bool        // the listener is already TLS (port 465)
	Pipeline    *delivery.Pipeline
	Checks      *delivery.Checks // inbound checks (MX); nil for none
	// PregreetWait, on the MX listener, is how long a new client must
	// wait for the rest of the greeting without talking (gate.go); 0
	// turns the test off. Trusted clients are never tested.
	PregreetWait      time.Duration
	Trusted           []netip.Prefix
	Auth              *auth.Authenticator // required for Submission
	PlaintextNetworks []netip.Prefix      // AUTH allowed without TLS from these
	MaxMessageBytes   int64
	MaxRecipients     int
	MaxLineLength     int
	MaxConnections    int
	MaxConnsPerIP     int
	Timeout           time.Duration
	// SoftErrors, HardErrors and ErrorSleep bound refused recipients per
	// session, RcptErrorsPerIP per client address and hour (errlimit.go);
	// a negative RcptErrorsPerIP turns the per-address count off.
	SoftErrors, HardErrors int
	ErrorSleep             time.Duration
	RcptErrorsPerIP        int
	// StressTimeout bounds the wait for each command of a client that has
	// not authenticated while the listener holds three quarters of
	// MaxConnections (default 10 s, Postfix's ${stress?10}): netlimit's
	// idle.go.
	StressTimeout time.Duration
	// RecentLogins and PopBeforeSMTP turn on POP-before-SMTP on a
	// Submission listener (never MX or LMTP): a client whose IP logged
	// in over POP3 or IMAP less than PopBeforeSMTP ago may submit without
	// AUTH (session.checkSubmitter). Now is the clock (default time.Now).
	RecentLogins  *auth.RecentLogins
	PopBeforeSMTP time.Duration
	Now           func() time.Time
	Log           *slog.Logger
	Debug         io.Writer // protocol trace, nil for none
}

// Server serves one listener.
type Server struct {
	opts    Options
	smtp    *smtp.Server
	log     *slog.Logger
	closing atomic.Bool // Shutdown has begun: no new transactions
	gate    *gate       // before the banner; nil for none
	// ipErrors counts refused recipients per client address.
	ipErrors *ipErrors
}

// New builds a server; call Serve with a listener.
func New(opts Options) *Server {
	setDefaults(&opts)
	s := &Server{opts: opts, log: opts.Log.With("listener", opts.Mode.String()), ipErrors: newIPErrors(opts.Now)}
	srv := smtp.NewServer(s)
	srv.Domain = opts.Hostname
	srv.TLSConfig = opts.TLS
	srv.LMTP = opts.Mode == LMTP
	// go-smtp's DATA reader refuses a message of exactly MaxMessageBytes
	// (it stops before the end-of-data line) while its BDAT takes one: it
	// is given one byte more, and the session enforces the limit itself,
	// inclusive, for both (limitedData, Mail's SIZE check). EHLO's SIZE
	// is go-smtp's figure: one byte over the limit.
	srv.MaxMessageBytes = opts.MaxMessageBytes + 1
	srv.MaxRecipients = opts.MaxRecipients
	srv.MaxLineLength = opts.MaxLineLength
	srv.ReadTimeout = opts.Timeout
	srv.WriteTimeout = opts.Timeout
	srv.EnableSMTPUTF8 = true
	// Submission hands mail to the queue, which honours DSN (RFC 3461)
	// and REQUIRETLS (RFC 8689).
	srv.EnableDSN = opts.Mode == Submission
	srv.EnableREQUIRETLS = opts.Mode == Submission
	// AUTH is offered only over TLS, except from auth.plaintext_networks;
	// the per-connection decision is made in AuthMechanisms and Auth.
	srv.AllowInsecureAuth = len(opts.PlaintextNetworks) > 0
	srv.Debug = opts.Debug
	srv.ErrorLog = slogLogger{s.log}
	s.smtp = srv
	if !opts.ImplicitTLS && (opts.Checks != nil || (opts.Mode == MX && opts.PregreetWait > 0)) {
		g := &gate{checks: opts.Checks, mode: opts.Mode, host: opts.Hostname, trusted: opts.Trusted}
		if opts.Mode == MX {
			g.wait = opts.PregreetWait
		}
		s.gate = g
	}
	return s
}

func setDefaults(o *Options) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = 50 << 20
	}
	if o.MaxRecipients == 0 {
		o.MaxRecipients = 100
	}
	if o.MaxLineLength == 0 {
		o.MaxLineLength = 64 << 10
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 1000
	}
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = 20
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	setErrorDefaults(o)
	if o.Mode != Submission || o.PopBeforeSMTP <= 0 {
		o.RecentLogins = nil
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Serve accepts connections on l until Close or Shutdown.
func (s *Server) Serve(l net.Listener) error {
	l = netlimit.New(l, netlimit.Options{Max: s.opts.MaxConnections, PerIP: s.opts.MaxConnsPerIP,
		Refusal: "421 4.7.0 Too many connections, try again later\r\n", // RFC 5321 §3.8
		Log:     s.log, TLS: netlimit.ImplicitTLS(s.opts.ImplicitTLS, s.opts.TLS), StressTimeout: s.opts.StressTimeout})
	if s.gate != nil {
		l = gateListener{Listener: l, g: s.gate}
	}
	if s.opts.ImplicitTLS {
		l = tls.NewListener(l, s.opts.TLS)
	}
	return s.smtp.Serve(l)
}

// Shutdown stops accepting and waits for sessions to end, until ctx ends;
// then it closes what remains.
// A transaction under way may finish; a new MAIL on an open session gets
// 421 4.3.2 (errShuttingDown).
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	err := s.smtp.Shutdown(ctx)
	if ctx.Err() != nil {
		s.smtp.Close()
	}
	return err
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error { return s.smtp.Close() }

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	sess := newSession(s, c)
	if err := sess.checkHelo(); err != nil {
		sess.cancel()
		return nil, err
	}
	return sess, nil
}

type slogLogger struct{ l *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) { l.l.Debug("smtp", "msg", sprintf(format, v...)) }
func (l slogLogger) Println(v ...any)               { l.l.Debug("smtp", "msg", sprint(v...)) }

func sprintf(format string, v ...any) string { return fmt.Sprintf(format, v...) }
func sprint(v ...any) string                 { return fmt.Sprint(v...) }

func setErrorDefaults(o *Options) {
	o.SoftErrors = cmp.Or(o.SoftErrors, defaultSoftErrors)
	o.HardErrors = cmp.Or(o.HardErrors, defaultHardErrors)
	o.ErrorSleep = cmp.Or(o.ErrorSleep, defaultErrorSleep)
	o.RcptErrorsPerIP = cmp.Or(o.RcptErrorsPerIP, defaultRcptErrorsPerIP)
	o.StressTimeout = cmp.Or(o.StressTimeout, netlimit.DefaultStressTimeout)
}
