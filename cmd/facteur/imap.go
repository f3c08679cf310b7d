package main

import (
	"context"
	"crypto/tls"
	"log/slog"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/imapd"
	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/sessions"
	"facteur.dev/facteur/internal/store"
)

var _ server = (*imapd.Server)(nil)

// startIMAP starts the imap (STARTTLS) and imaps (implicit TLS)
// listeners, which share the count of sessions per account and the
// cache of mailbox views. APPENDLIMIT
// is limits.max_message_bytes, as for SMTP. Logins are recorded in
// logins (POP-before-SMTP).
func startIMAP(cfg *config.Config, s store.Store, authn *auth.Authenticator, logins *auth.RecentLogins, reg *sessions.Registry,
	tlsConf *tls.Config, log *slog.Logger) (servers, error) {
	base := imapd.Options{
		Hostname: cfg.Hostname, TLS: tlsConf, Store: s, Auth: authn,
		PlaintextNetworks: cfg.PlaintextPrefixes(),
		Limits:            imapwire.Limits{MaxLiteral: cfg.Limits.MaxMessageBytes},
		MaxConnections:    cfg.Limits.MaxConnections, MaxConnsPerIP: cfg.Limits.MaxConnectionsPerIP,
		Shared: imapd.NewShared(), RecentLogins: logins, Sessions: reg, Log: log,
		LoginTimeout: cfg.Limits.LoginTimeout.Duration, StressTimeout: cfg.Limits.StressTimeout.Duration,
	}
	if cfg.Listen.IMAP != "" || cfg.Listen.IMAPS != "" {
		go warmIMAP(context.Background(), s, base.Shared, log)
	}
	var out servers
	for _, sp := range []struct {
		name, addr string
		implicit   bool
	}{{"imap", cfg.Listen.IMAP, false}, {"imaps", cfg.Listen.IMAPS, true}} {
		if sp.addr == "" {
			continue
		}
		o := base
		o.ImplicitTLS = sp.implicit
		srv := imapd.New(o)
		r, err := serveOn(cfg, sp.name, sp.addr, srv, srv.Serve, log)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
