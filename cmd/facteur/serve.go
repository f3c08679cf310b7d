package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/checks/arc"
	"facteur.dev/facteur/internal/checks/senderlist"
	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/delivery"
	fdkim "facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/pop3d"
	"facteur.dev/facteur/internal/smtpd"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/tlsutil"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "serve [--config FILE]\n\nRuns every enabled listener until SIGTERM or SIGINT, then shuts down gracefully.\nWith no config file: a development instance on 127.0.0.1 with data in ./facteur-data.")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// A mail server allocates per message and has memory to spare:
		// collect half as often as Go's default (measured: GC was ~10% of
		// CPU under bench/smtpload).
		debug.SetGCPercent(200)
	}
	cfg, s, err := openStore(ctx, e, true)
	if err != nil {
		return err
	}
	setMemoryLimit(cfg)
	defer s.Close()
	log := newLogger(e.stderr, cfg)
	tlsConf, selfSigned, err := tlsutil.LoadOrCreate(cfg.TLS.Cert, cfg.TLS.Key, cfg.DataDir, cfg.Hostname)
	if err != nil {
		return err
	}
	pipeline, err := newPipeline(cfg, s, log)
	if err != nil {
		return err
	}
	reports := startDMARCJobs(cfg, s, pipeline, log)                        // dmarc.go
	checks, checksSummary, err := buildChecks(cfg, reports.recorder(), log) // checks.go
	if err != nil {
		reports.stop(log)
		return err
	}
	srvs, err := startListeners(cfg, s, pipeline, tlsConf, checks, log)
	if err != nil {
		srvs.shutdown(context.Background())
		reports.stop(log)
		return err
	}
	banner(e.stdout, cfg, srvs, selfSigned)
	fmt.Fprintf(e.stdout, "Inbound checks (MX): %s\n", checksSummary)
	// A listener whose accept loop stops for good (temporary errors are
	// retried) leaves the server deaf on that port: shut down and exit
	// non-zero, so that the service manager restarts it and the admin
	// sees why.
	var failed error
	select {
	case <-ctx.Done():
	case failed = <-srvs.failed():
		log.Error("listener failed, shutting down", "err", failed)
	}
	log.Info("shutting down", "grace", cfg.Limits.ShutdownGrace.Duration)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownGrace.Duration)
	defer cancel()
	srvs.shutdown(sctx)
	reports.stop(log)
	log.Info("stopped")
	return failed
}

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// server is what every protocol front-end offers for a graceful stop.
type server interface {
	Shutdown(ctx context.Context) error
}

var (
	_ server = (*smtpd.Server)(nil)
	_ server = (*pop3d.Server)(nil)
)

// running is a started listener.
type running struct {
	name, addr string
	srv        server
	stopped    <-chan error // what Serve returned; nil when not watched
}

type servers []running

func (ss servers) shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	for _, r := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.srv.Shutdown(ctx)
		}()
	}
	wg.Wait()
}

// failed returns a channel that receives the first error a listener's
// Serve returns: any error before shutdown means the listener stopped.
func (ss servers) failed() <-chan error {
	out := make(chan error, len(ss))
	for _, r := range ss {
		if r.stopped == nil {
			continue
		}
		go func() {
			if err := <-r.stopped; err != nil {
				out <- fmt.Errorf("listen.%s on %s: %w", r.name, r.addr, err)
			}
		}()
	}
	return out
}

// startListeners starts every SMTP-family, POP3 and IMAP listener that
// is configured. Listeners whose protocol is not built yet (HTTP) are
// skipped.
func startListeners(cfg *config.Config, s store.Store, pipeline *delivery.Pipeline, tlsConf *tls.Config, checks listenerChecks, log *slog.Logger) (servers, error) {
	authn := auth.New(auth.StoreLookup{Accounts: s}, auth.Options{
		CacheTTL:              cfg.Auth.CacheTTL.Duration,
		FailureDelay:          cfg.Auth.FailureDelay.Duration,
		MaxFailuresPerIP:      cfg.Auth.MaxFailuresPerIP,
		MaxFailuresPerAccount: cfg.Auth.MaxFailuresPerAccount,
		FailureWindow:         cfg.Auth.FailureWindow.Duration,
		MaxQueuedLogins:       cfg.Auth.MaxQueuedLogins,
		Log:                   log.With("part", "auth"),
	})
	logins := recentLogins(cfg)
	out, err := startSMTP(cfg, s, pipeline, authn, logins, tlsConf, checks, log)
	if err != nil {
		return out, err
	}
	pop, err := startPOP3(cfg, s, authn, logins, tlsConf, log)
	out = append(out, pop...)
	if err != nil {
		return out, err
	}
	imap, err := startIMAP(cfg, s, authn, logins, tlsConf, log)
	return append(out, imap...), err
}

// recentLogins is the record of POP3 and IMAP logins that
// submission.pop_before_smtp reads, shared by every listener; nil when
// that is off.
func recentLogins(cfg *config.Config) *auth.RecentLogins {
	if cfg.Submission.PopBeforeSMTP.Duration <= 0 {
		return nil
	}
	return auth.NewRecentLogins(cfg.Submission.PopBeforeSMTP.Duration, 0)
}

// newPipeline makes the delivery pipeline every listener shares: SRS and
// ARC sealing of forwarded mail, and the sender lists as the first
// per-recipient filter (an allow undoes the checks' Junk; a filter after
// it, such as Sieve, has the last word).
func newPipeline(cfg *config.Config, s store.Store, log *slog.Logger) (*delivery.Pipeline, error) {
	pipeline := delivery.New(s, log.With("part", "delivery"))
	if cfg.Outbound.SRS {
		rw, err := srsRewriter(cfg.DataDir) // srs.go
		if err != nil {
			return nil, err
		}
		pipeline.SetSRS(rw)
	}
	if cfg.Outbound.ARCSeal {
		pipeline.SetForwardSealer(&arc.ForwardSealer{Check: &arc.Check{Resolver: dns.New(cfg.ChecksResolver())},
			Keys: fdkim.New(cfg.DataDir), AuthServID: cfg.Hostname})
	}
	pipeline.AddCopyFilter(senderlist.New(s, log.With("part", "senderlist")))
	return pipeline, nil
}

// startSMTP starts the MX, submission and LMTP listeners; only
// submission reads logins (POP-before-SMTP).
func startSMTP(cfg *config.Config, s store.Store, pipeline *delivery.Pipeline, authn *auth.Authenticator, logins *auth.RecentLogins, tlsConf *tls.Config, checks listenerChecks, log *slog.Logger) (servers, error) {
	out, err := startOutbound(cfg, s, pipeline, log) // queue workers and control socket
	if err != nil {
		return out, err
	}
	base := smtpd.Options{
		Hostname: cfg.Hostname, TLS: tlsConf, Pipeline: pipeline, Auth: authn,
		PlaintextNetworks: cfg.PlaintextPrefixes(),
		MaxMessageBytes:   cfg.Limits.MaxMessageBytes, MaxRecipients: cfg.Limits.MaxRecipients,
		MaxLineLength: cfg.Limits.MaxLineLength, MaxConnections: cfg.Limits.MaxConnections,
		MaxConnsPerIP: cfg.Limits.MaxConnectionsPerIP, Timeout: cfg.Limits.SMTPTimeout.Duration, Log: log,
		Trusted: cfg.TrustedPrefixes(),
	}
	specs := []struct {
		name, addr string
		mode       smtpd.Mode
		implicit   bool
	}{
		{"smtp", cfg.Listen.SMTP, smtpd.MX, false},
		{"submission", cfg.Listen.Submission, smtpd.Submission, false},
		{"submissions", cfg.Listen.Submissions, smtpd.Submission, true},
		{"lmtp", cfg.Listen.LMTP, smtpd.LMTP, false},
	}
	for _, sp := range specs {
		if sp.addr == "" {
			continue
		}
		o := base
		o.Mode, o.ImplicitTLS = sp.mode, sp.implicit
		switch sp.mode {
		case smtpd.MX:
			o.Checks = checks.mx
			o.PregreetWait = cfg.Checks.PregreetWait.Duration
		case smtpd.Submission:
			o.Checks = checks.submission
		}
		if sp.mode == smtpd.LMTP {
			o.MaxConnsPerIP = o.MaxConnections // all local peers share one "IP"
		}
		if sp.mode == smtpd.Submission {
			o.RecentLogins, o.PopBeforeSMTP = logins, cfg.Submission.PopBeforeSMTP.Duration
		}
		srv := smtpd.New(o)
		r, err := serveOn(cfg, sp.name, sp.addr, srv, srv.Serve, log)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// startPOP3 starts the pop3 (STLS) and pop3s (implicit TLS) listeners,
// which share one set of maildrop locks and record logins in logins.
func startPOP3(cfg *config.Config, s store.Store, authn *auth.Authenticator, logins *auth.RecentLogins, tlsConf *tls.Config, log *slog.Logger) (servers, error) {
	mode, err := pop3d.ParseDeleteMode(cfg.POP3.Delete)
	if err != nil {
		return nil, err
	}
	base := pop3d.Options{
		Hostname: cfg.Hostname, TLS: tlsConf, Store: s, Auth: authn,
		PlaintextNetworks: cfg.PlaintextPrefixes(), Delete: mode, Locks: pop3d.NewLocks(),
		IdleTimeout: cfg.POP3.IdleTimeout.Duration, MaxConnections: cfg.Limits.MaxConnections,
		MaxConnsPerIP: cfg.Limits.MaxConnectionsPerIP, RecentLogins: logins, Log: log,
	}
	var out servers
	for _, sp := range []struct {
		name, addr string
		implicit   bool
	}{{"pop3", cfg.Listen.POP3, false}, {"pop3s", cfg.Listen.POP3S, true}} {
		if sp.addr == "" {
			continue
		}
		o := base
		o.ImplicitTLS = sp.implicit
		srv := pop3d.New(o)
		r, err := serveOn(cfg, sp.name, sp.addr, srv, srv.Serve, log)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// serveOn opens the listener for addr and serves it with serve in the
// background.
func serveOn(cfg *config.Config, name, addr string, srv server, serve func(net.Listener) error, log *slog.Logger) (running, error) {
	l, err := listen(cfg, addr)
	if err != nil {
		return running{}, fmt.Errorf("listen.%s: %w", name, err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- serve(l) }()
	log.Info("listening", "listener", name, "addr", l.Addr().String())
	return running{name: name, addr: l.Addr().String(), srv: srv, stopped: stopped}, nil
}

// listen opens a TCP or unix listener; a stale unix socket file is removed.
func listen(cfg *config.Config, addr string) (net.Listener, error) {
	network, a := config.SplitListen(addr)
	if network == "unix" {
		if !filepath.IsAbs(a) && !cfg.Dev {
			a = cfg.Path(a)
		}
		if err := os.MkdirAll(filepath.Dir(a), 0o755); err != nil {
			return nil, err
		}
		os.Remove(a)
	}
	return net.Listen(network, a)
}

func banner(w io.Writer, cfg *config.Config, srvs servers, selfSigned bool) {
	fmt.Fprintf(w, "Facteur %s serving %s, data in %s\n", version, cfg.Hostname, cfg.DataDir)
	for _, r := range srvs {
		fmt.Fprintf(w, "  %-12s %s\n", r.name, r.addr)
	}
	if selfSigned {
		fmt.Fprintf(w, "TLS: self-signed certificate in %s (set [tls] cert and key for a real one)\n", cfg.DataDir)
	}
	if cfg.Dev {
		fmt.Fprintf(w, `Development instance (no --config). In another terminal:
  go run ./cmd/facteur domain add example.test
  go run ./cmd/facteur user add alice@example.test
  swaks --server 127.0.0.1:2525 --to alice@example.test
  go run ./cmd/facteur mailbox status alice@example.test
  curl --insecure --user alice@example.test pop3s://127.0.0.1:1995/   # the INBOX over POP3
  curl --insecure --user alice@example.test 'imaps://127.0.0.1:1993/INBOX;UID=1'   # message 1 over IMAP
`)
	}
}
