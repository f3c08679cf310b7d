package config

import (
	"net"
	"time"
)

// Outbound configures the delivery of mail to other domains (the queue).
// Outside tests rely on port, resolver, smarthost and routes: keep them.
type Outbound struct {
	// Port is the destination port for MX delivery (25).
	Port int `toml:"port"`
	// Resolver is the "host:port" of the DNS server to ask; "" is the
	// system's resolver (the first nameserver of /etc/resolv.conf).
	Resolver string `toml:"resolver"`
	// Smarthost is a "host:port" to relay all outbound mail through, with
	// AUTH PLAIN when SmarthostUser is set.
	Smarthost         string `toml:"smarthost"`
	SmarthostUser     string `toml:"smarthost_user"`
	SmarthostPassword string `toml:"smarthost_password"`
	// SmarthostTLS is "starttls" (STARTTLS when offered; required, with a
	// valid certificate, when credentials are set) or "implicit" (TLS
	// from the first byte, as on port 465).
	SmarthostTLS string `toml:"smarthost_tls"`
	// Routes maps a recipient domain to the "host:port" of its next hop,
	// before any MX lookup (like Postfix's transport map).
	Routes map[string]string `toml:"routes"`
	// RequireTLS lists destination domains that get mail only over
	// STARTTLS with a certificate valid for the MX host name.
	RequireTLS []string `toml:"require_tls"`
	// TLSRoots is a PEM file of CA certificates trusted for verified TLS
	// and MTA-STS fetches; "" uses the system's roots.
	TLSRoots string `toml:"tls_roots"`
	// SRS rewrites the envelope sender of mail forwarded to remote alias
	// targets (the Sender Rewriting Scheme), so SPF passes at the next
	// hop and bounces come back through us to the sender.
	SRS bool `toml:"srs"`
	// ARCSeal adds an ARC set (RFC 8617) with the inbound checks' results
	// to mail forwarded to remote alias targets, signed with the alias
	// domain's RSA DKIM key.
	ARCSeal bool `toml:"arc_seal"`
	// Retry is the wait after each failed attempt; the last one repeats.
	Retry []Duration `toml:"retry"`
	// MaxAge is how long a message is retried before it bounces.
	MaxAge Duration `toml:"max_age"`
	// DelayWarning sends the sender a "delayed" DSN once, after this long
	// in the queue; 0 never does.
	DelayWarning Duration `toml:"delay_warning"`
	// Workers bounds concurrent outbound connections, and
	// ConnectionsPerDomain those to one destination domain.
	Workers              int `toml:"workers"`
	ConnectionsPerDomain int `toml:"connections_per_domain"`
}

func defaultOutbound() Outbound {
	return Outbound{
		Port: 25, SmarthostTLS: "starttls", SRS: true, ARCSeal: true,
		Retry: []Duration{{5 * time.Minute}, {15 * time.Minute}, {30 * time.Minute}, {time.Hour},
			{2 * time.Hour}, {4 * time.Hour}},
		MaxAge:  Duration{5 * 24 * time.Hour},
		Workers: 32, ConnectionsPerDomain: 8,
	}
}

func (c *Config) validateOutbound(bad func(key, format string, args ...any)) {
	o := c.Outbound
	if o.Port < 1 || o.Port > 65535 {
		bad("outbound.port", "must be a port number")
	}
	hostport := func(key, v string) {
		if _, p, err := net.SplitHostPort(v); err != nil || p == "" {
			bad(key, "%q is not host:port", v)
		}
	}
	if o.Resolver != "" {
		hostport("outbound.resolver", o.Resolver)
	}
	if o.Smarthost != "" {
		hostport("outbound.smarthost", o.Smarthost)
	}
	if o.SmarthostTLS != "starttls" && o.SmarthostTLS != "implicit" {
		bad("outbound.smarthost_tls", "must be starttls or implicit")
	}
	if (o.SmarthostUser == "") != (o.SmarthostPassword == "") {
		bad("outbound.smarthost_user", "smarthost_user and smarthost_password must be set together")
	}
	for d, hp := range o.Routes {
		hostport("outbound.routes."+d, hp)
	}
	if len(o.Retry) == 0 {
		bad("outbound.retry", "must not be empty")
	}
	for _, d := range o.Retry {
		if d.Duration <= 0 {
			bad("outbound.retry", "durations must be positive")
			break
		}
	}
	if o.MaxAge.Duration <= 0 {
		bad("outbound.max_age", "must be positive")
	}
	if o.DelayWarning.Duration < 0 {
		bad("outbound.delay_warning", "must not be negative")
	}
	if o.Workers < 1 {
		bad("outbound.workers", "must be at least 1")
	}
	if o.ConnectionsPerDomain < 1 {
		bad("outbound.connections_per_domain", "must be at least 1")
	}
}
