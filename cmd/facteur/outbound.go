package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"

	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/queue"
	"facteur.dev/facteur/internal/sessions"
	"facteur.dev/facteur/internal/store"
)

// controlSocket is the queue CLI's way into the running server.
func controlSocket(cfg *config.Config) string { return cfg.Path("control.sock") }

// startOutbound starts the queue runner, wires the pipeline to wake it
// and to sign with DKIM, and serves the control API on a 0600 unix socket.
func startOutbound(cfg *config.Config, s store.Store, p *delivery.Pipeline, reg *sessions.Registry, log *slog.Logger) (servers, error) {
	o := cfg.Outbound
	res := queue.NewResolver(o.Resolver)
	var roots *x509.CertPool
	if o.TLSRoots != "" {
		pem, err := os.ReadFile(o.TLSRoots)
		if err != nil {
			return nil, fmt.Errorf("outbound.tls_roots: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("outbound.tls_roots: no certificate in %s", o.TLSRoots)
		}
	}
	reqTLS := map[string]bool{}
	for _, d := range o.RequireTLS {
		reqTLS[strings.ToLower(d)] = true
	}
	routes := map[string]string{}
	for d, hp := range o.Routes {
		routes[strings.ToLower(d)] = hp
	}
	opts := queue.Options{
		Hostname: cfg.Hostname, Store: s, Pipeline: p, Resolver: res, Port: o.Port,
		Smarthost: o.Smarthost, SmartUser: o.SmarthostUser, SmartPass: o.SmarthostPassword,
		SmartTLS: o.SmarthostTLS == "implicit",
		Routes:   routes, RequireTLS: reqTLS, MaxAge: o.MaxAge.Duration, DelayWarning: o.DelayWarning.Duration,
		Workers: o.Workers, PerDomain: o.ConnectionsPerDomain, RootCAs: roots,
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
		STSCacheDir: cfg.Path("mta-sts"),
		Log:         log.With("part", "queue"),
	}
	for _, d := range o.Retry {
		opts.Retry = append(opts.Retry, d.Duration)
	}
	r := queue.New(opts)
	if err := r.Start(); err != nil {
		return nil, err
	}
	p.OnQueued(r.Kick)
	p.SetSigner(dkim.New(cfg.DataDir))
	p.SetHostname(cfg.Hostname)
	out := servers{{name: "queue", addr: describeOutbound(o), srv: r}}
	sock := controlSocket(cfg)
	os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		return out, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		l.Close()
		return out, err
	}
	hs := &http.Server{Handler: controlHandler(r.Handler(), reg, log)} // control.go
	go hs.Serve(l)
	return append(out, running{name: "control", addr: sock, srv: hs}), nil
}

// describeOutbound says where mail for other domains goes, for the banner.
func describeOutbound(o config.Outbound) string {
	s := fmt.Sprintf("outbound to MX port %d", o.Port)
	if o.Smarthost != "" {
		s = "outbound via smarthost " + o.Smarthost
	}
	if len(o.Routes) > 0 {
		s += fmt.Sprintf(" (%d routes)", len(o.Routes))
	}
	return s
}

var _ server = (*queue.Runner)(nil)
var _ server = (*http.Server)(nil)
