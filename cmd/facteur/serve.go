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
	"strings"
	"sync"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/checks/arc"
	"facteur.dev/facteur/internal/checks/senderlist"
	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/delivery"
	fdkim "facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/pop3d"
	"facteur.dev/facteur/internal/sessions"
	"facteur.dev/facteur/internal/sievefilter"
	"facteur.dev/facteur/internal/smtpd"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/sqlite"
	"facteur.dev/facteur/internal/tlsutil"
)

const serveUsage = `serve [--config FILE] [--dev-ports-from PORT]

Runs every enabled listener until SIGTERM or SIGINT, then shuts down
gracefully. With no config file: a development instance on 127.0.0.1 with
data in ./facteur-data; --dev-ports-from 20000 moves its TCP listeners to
20000 and the next ports (smtp, submission, submissions, imap, imaps,
pop3, pop3s, managesieve), for a machine where the usual ones are taken.

With a config file, every [listen] key it leaves out has its production
default (smtp :25, submission :587, submissions :465, imap :143,
imaps :993, pop3 :110, pop3s :995, on every address); a key set to ""
turns that listener off. The listeners in effect are printed at start.`

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", serveUsage)
	portsFrom := fs.Int("dev-ports-from", 0, "development instance: put the TCP listeners on 127.0.0.1 at this `port` and the next ones")
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
	if *portsFrom != 0 {
		if err := devPortsFrom(cfg, *portsFrom); err != nil {
			s.Close()
			return err
		}
	}
	setMemoryLimit(cfg)
	defer s.Close()
	level := new(slog.LevelVar)
	log := newLogger(e.stderr, cfg, level)
	certs, selfSigned, err := tlsutil.Open(cfg.TLS.Cert, cfg.TLS.Key, cfg.DataDir, cfg.Hostname)
	if err != nil {
		return err
	}
	tlsConf := certs.Config()
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
		return bindFailure(cfg, e.configPath, err) // ports.go
	}
	banner(e.stdout, cfg, srvs, selfSigned)
	fmt.Fprintf(e.stdout, "Inbound checks (MX): %s\n", checksSummary)
	// A listener whose accept loop stops for good (temporary errors are
	// retried) leaves the server deaf on that port: shut down and exit
	// non-zero, so that the service manager restarts it and the admin
	// sees why.
	failed := waitServing(ctx, srvs, reloader{certs: certs, level: level, log: log, path: e.configPath}) // reload.go
	log.Info("shutting down", "grace", cfg.Limits.ShutdownGrace.Duration)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownGrace.Duration)
	defer cancel()
	srvs.shutdown(sctx)
	reports.stop(log)
	log.Info("stopped")
	return failed
}

func newLogger(w io.Writer, cfg *config.Config, level *slog.LevelVar) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.Log.Level))
	level.Set(lvl)
	opts := &slog.HandlerOptions{Level: level}
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

// startListeners starts every SMTP-family, POP3, IMAP and ManageSieve listener that
// is configured. Listeners whose protocol is not built yet (HTTP) are
// skipped.
func startListeners(cfg *config.Config, s store.Store, pipeline *delivery.Pipeline, tlsConf *tls.Config, checks listenerChecks, log *slog.Logger) (servers, error) {
	scramKey, err := dataKey(cfg.DataDir, "scram.key") // keyfile.go
	if err != nil {
		return nil, err
	}
	authn := auth.New(auth.StoreLookup{Accounts: s}, auth.Options{
		FakeSCRAMKey:          scramKey,
		CacheTTL:              cfg.Auth.CacheTTL.Duration,
		FailureDelay:          cfg.Auth.FailureDelay.Duration,
		MaxFailuresPerIP:      cfg.Auth.MaxFailuresPerIP,
		MaxFailuresPerAccount: cfg.Auth.MaxFailuresPerAccount,
		FailureWindow:         cfg.Auth.FailureWindow.Duration,
		MaxQueuedLogins:       cfg.Auth.MaxQueuedLogins,
		Log:                   log.With("part", "auth"),
	})
	logins := recentLogins(cfg)
	reg := &sessions.Registry{} // logged-in sessions, ended when their account goes (control.go)
	out, err := startSMTP(cfg, s, pipeline, authn, logins, reg, tlsConf, checks, log)
	if err != nil {
		return out, err
	}
	pop, err := startPOP3(cfg, s, authn, logins, reg, tlsConf, log)
	out = append(out, pop...)
	if err != nil {
		return out, err
	}
	imap, err := startIMAP(cfg, s, authn, logins, reg, tlsConf, log)
	out = append(out, imap...)
	if err != nil {
		return out, err
	}
	sieve, err := startManageSieve(cfg, s, authn, reg, tlsConf, log) // sieve.go
	return append(out, sieve...), err
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
	pipeline.SetPostmaster(cfg.Postmaster)
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
	// Sieve after the sender lists: its implicit keep files where they
	// (and the checks) would have.
	pipeline.AddCopyFilter(&sievefilter.Filter{Scripts: s, Store: s, Hostname: cfg.Hostname, Log: log.With("part", "sieve"),
		Global: sieveGlobal(cfg.SieveGlobalDir())})
	if cfg.Limits.MinFreeBytes > 0 {
		pipeline.SetFreeSpace(func() (int64, error) { return sqlite.FreeBytes(cfg.DataDir) }, cfg.Limits.MinFreeBytes)
	}
	return pipeline, nil
}

// startSMTP starts the MX, submission and LMTP listeners; only
// submission reads logins (POP-before-SMTP).
func startSMTP(cfg *config.Config, s store.Store, pipeline *delivery.Pipeline, authn *auth.Authenticator, logins *auth.RecentLogins,
	reg *sessions.Registry, tlsConf *tls.Config, checks listenerChecks, log *slog.Logger) (servers, error) {
	out, err := startOutbound(cfg, s, pipeline, reg, log) // queue workers and control socket
	if err != nil {
		return out, err
	}
	base := smtpd.Options{
		Hostname: cfg.Hostname, TLS: tlsConf, Pipeline: pipeline, Auth: authn,
		PlaintextNetworks: cfg.PlaintextPrefixes(),
		MaxMessageBytes:   cfg.Limits.MaxMessageBytes, MaxRecipients: cfg.Limits.MaxRecipients,
		MaxLineLength: cfg.Limits.MaxLineLength, MaxConnections: cfg.Limits.MaxConnections,
		MaxConnsPerIP: cfg.Limits.MaxConnectionsPerIP, Timeout: cfg.Limits.SMTPTimeout.Duration, Log: log,
		Trusted:    cfg.TrustedPrefixes(),
		SoftErrors: cfg.Limits.SMTPSoftErrorLimit, HardErrors: cfg.Limits.SMTPHardErrorLimit,
		ErrorSleep: cfg.Limits.SMTPErrorSleep.Duration, RcptErrorsPerIP: perIPOrOff(cfg.Limits.SMTPRcptErrorsPerIP),
		StressTimeout: cfg.Limits.StressTimeout.Duration,
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
func startPOP3(cfg *config.Config, s store.Store, authn *auth.Authenticator, logins *auth.RecentLogins, reg *sessions.Registry,
	tlsConf *tls.Config, log *slog.Logger) (servers, error) {
	mode, err := pop3d.ParseDeleteMode(cfg.POP3.Delete)
	if err != nil {
		return nil, err
	}
	base := pop3d.Options{
		Hostname: cfg.Hostname, TLS: tlsConf, Store: s, Auth: authn,
		PlaintextNetworks: cfg.PlaintextPrefixes(), Delete: mode, Locks: pop3d.NewLocks(),
		IdleTimeout: cfg.POP3.IdleTimeout.Duration, MaxConnections: cfg.Limits.MaxConnections,
		MaxConnsPerIP: cfg.Limits.MaxConnectionsPerIP, RecentLogins: logins, Sessions: reg, Log: log,
		LoginTimeout: cfg.Limits.LoginTimeout.Duration, StressTimeout: cfg.Limits.StressTimeout.Duration,
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
	var off []string
	for _, l := range tcpListeners(&cfg.Listen) {
		if *l.addr == "" {
			off = append(off, l.name)
		}
	}
	if len(off) > 0 {
		fmt.Fprintf(w, "  off: %s\n", strings.Join(off, ", "))
	}
	if selfSigned {
		fmt.Fprintf(w, "TLS: self-signed certificate in %s (set [tls] cert and key for a real one)\n", cfg.DataDir)
	}
	if cfg.Dev {
		fmt.Fprintf(w, `Development instance (no --config). In another terminal:
  go run ./cmd/facteur domain add example.test
  go run ./cmd/facteur user add alice@example.test
  swaks --server %s --to alice@example.test
  go run ./cmd/facteur mailbox status alice@example.test
  curl --cacert %s/selfsigned.crt --user alice@example.test pop3s://%s/   # the INBOX over POP3
  curl --cacert %s/selfsigned.crt --user alice@example.test 'imaps://%s/INBOX;UID=1'   # message 1 over IMAP
  sieve-connect --nosrv --server 127.0.0.1 --port %s --notlsverify --user alice@example.test --list   # Sieve scripts
`, cfg.Listen.SMTP, cfg.DataDir, cfg.Listen.POP3S, cfg.DataDir, cfg.Listen.IMAPS, listenPort(cfg.Listen.ManageSieve))
	}
}

// perIPOrOff maps the config's 0 (no limit) to smtpd's negative.
func perIPOrOff(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
