package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/delivery"
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
	defer s.Close()
	log := newLogger(e.stderr, cfg)
	tlsConf, selfSigned, err := tlsutil.LoadOrCreate(cfg.TLS.Cert, cfg.TLS.Key, cfg.DataDir, cfg.Hostname)
	if err != nil {
		return err
	}
	srvs, err := startListeners(cfg, s, tlsConf, log)
	if err != nil {
		srvs.shutdown(context.Background())
		return err
	}
	banner(e.stdout, cfg, srvs, selfSigned)
	<-ctx.Done()
	log.Info("shutting down", "grace", cfg.Limits.ShutdownGrace.Duration)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownGrace.Duration)
	defer cancel()
	srvs.shutdown(sctx)
	log.Info("stopped")
	return nil
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

// running is a started listener.
type running struct {
	name, addr string
	srv        *smtpd.Server
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

// storeLookup adapts the store's accounts to what auth needs.
type storeLookup struct{ s store.Accounts }

func (l storeLookup) LookupAccount(ctx context.Context, address string) (auth.Account, error) {
	a, err := l.s.LookupAccount(ctx, address)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Account{}, auth.ErrNotFound
	}
	return auth.Account{ID: a.ID, Address: a.Address, PasswordHash: a.PasswordHash, SCRAM: a.SCRAM, Disabled: a.Disabled}, err
}

// startListeners starts every SMTP-family listener that is configured.
// Listeners whose protocol is not built yet (IMAP, POP3, HTTP) are skipped.
func startListeners(cfg *config.Config, s store.Store, tlsConf *tls.Config, log *slog.Logger) (servers, error) {
	pipeline := delivery.New(s, log.With("part", "delivery"))
	authn := auth.New(storeLookup{s}, auth.Options{
		CacheTTL:              cfg.Auth.CacheTTL.Duration,
		FailureDelay:          cfg.Auth.FailureDelay.Duration,
		MaxFailuresPerIP:      cfg.Auth.MaxFailuresPerIP,
		MaxFailuresPerAccount: cfg.Auth.MaxFailuresPerAccount,
		FailureWindow:         cfg.Auth.FailureWindow.Duration,
	})
	base := smtpd.Options{
		Hostname: cfg.Hostname, TLS: tlsConf, Pipeline: pipeline, Auth: authn,
		PlaintextNetworks: cfg.PlaintextPrefixes(),
		MaxMessageBytes:   cfg.Limits.MaxMessageBytes, MaxRecipients: cfg.Limits.MaxRecipients,
		MaxLineLength: cfg.Limits.MaxLineLength, MaxConnections: cfg.Limits.MaxConnections,
		MaxConnsPerIP: cfg.Limits.MaxConnectionsPerIP, Timeout: cfg.Limits.SMTPTimeout.Duration, Log: log,
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
	var out servers
	for _, sp := range specs {
		if sp.addr == "" {
			continue
		}
		o := base
		o.Mode, o.ImplicitTLS = sp.mode, sp.implicit
		if sp.mode == smtpd.LMTP {
			o.MaxConnsPerIP = o.MaxConnections // all local peers share one "IP"
		}
		l, err := listen(cfg, sp.addr)
		if err != nil {
			return out, fmt.Errorf("listen.%s: %w", sp.name, err)
		}
		srv := smtpd.New(o)
		go srv.Serve(l)
		out = append(out, running{name: sp.name, addr: l.Addr().String(), srv: srv})
		log.Info("listening", "listener", sp.name, "addr", l.Addr().String())
	}
	return out, nil
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
`)
	}
}
