package config

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Checks configures the inbound checks of the MX listener. The names of
// resolver, spf, dkim, dmarc, dnsbl and greylist are a contract that
// outside tests rely on.
type Checks struct {
	// Resolver is the "host:port" of the DNS server the checks ask; ""
	// uses outbound.resolver, then the system's.
	Resolver string `toml:"resolver"`
	SPF      bool   `toml:"spf"`   // RFC 7208, MAIL FROM and HELO
	DKIM     bool   `toml:"dkim"`  // RFC 6376 verification
	DMARC    bool   `toml:"dmarc"` // enforce p=reject and p=quarantine (RFC 7489)
	IPRev    bool   `toml:"iprev"` // reverse DNS of the client (RFC 8601 §3)
	ARC      bool   `toml:"arc"`   // verify ARC chains (RFC 8617)
	// ARCTrustedSealers are forwarders (the d= of their ARC-Seal) whose
	// passing chains let DMARC-failing mail through (RFC 8617 §7.2).
	ARCTrustedSealers []string `toml:"arc_trusted_sealers"`
	// DNSBL lists the block lists asked at connect ("zone" or
	// "zone=127.0.0.2,127.0.0.[4..7]"); [] disables them. DNSWL lists
	// allow lists, recorded as dnswl=pass (RFC 8904).
	DNSBL    []string `toml:"dnsbl"`
	DNSWL    []string `toml:"dnswl"`
	Greylist bool     `toml:"greylist"`
	// GreylistDelay is how long an unknown sender must wait before its
	// retry is accepted.
	GreylistDelay Duration `toml:"greylist_delay"`
	// Messages and recipients per hour: per client address on the MX
	// listener (trusted networks exempt), per user on submission. 0 is
	// no limit.
	RateMessagesPerIP     int `toml:"rate_messages_per_ip"`
	RateRecipientsPerIP   int `toml:"rate_recipients_per_ip"`
	RateMessagesPerUser   int `toml:"rate_messages_per_user"`
	RateRecipientsPerUser int `toml:"rate_recipients_per_user"`
	// PregreetWait: a new client on the MX listener gets the first line
	// of a multi-line greeting and must wait this long for the rest
	// without talking (postscreen's pregreet test); a client that passed
	// is not tested again for a day. 0 disables it.
	PregreetWait Duration `toml:"pregreet_wait"`
	// TrustedNetworks are never looked up in DNS lists nor greylisted.
	TrustedNetworks []string `toml:"trusted_networks"`
	// Timeout bounds one check at one SMTP stage.
	Timeout Duration `toml:"timeout"`
	// OnError is what a check that fails or times out (DNS down) makes
	// its stage answer, by check name ("spf", "dkim", "dmarc", "iprev",
	// "dnsbl"): "tempfail" (451 4.4.3, the sender retries) or "accept"
	// (go on without it). Missing names: "tempfail", but "accept" for
	// dnsbl and iprev, whose failure says nothing about the message; on
	// the development instance every check defaults to "accept".
	OnError map[string]string `toml:"on_error"`
	// DMARCReports keeps the DMARC evaluations of inbound mail and sends
	// the aggregate reports their domains ask for (rua, RFC 7489 §7.2)
	// once a day; it also stores the reports others send about our
	// domains.
	DMARCReports bool `toml:"dmarc_reports"`
	// DMARCReportEmail is the reports' contact address and From; ""
	// is postmaster@hostname.
	DMARCReportEmail string `toml:"dmarc_report_email"`
}

// CheckNames are the checks OnError may name.
var CheckNames = []string{"spf", "dkim", "dmarc", "iprev", "dnsbl"}

func defaultChecks() Checks {
	return Checks{SPF: true, DKIM: true, DMARC: true, IPRev: true, ARC: true, DNSBL: []string{"zen.spamhaus.org"},
		TrustedNetworks: []string{"127.0.0.0/8", "::1/128"}, Timeout: Duration{30 * time.Second},
		GreylistDelay: Duration{5 * time.Minute}, PregreetWait: Duration{3 * time.Second}, RateMessagesPerIP: 1000, RateRecipientsPerIP: 3000,
		RateMessagesPerUser: 1000, RateRecipientsPerUser: 2000, DMARCReports: true}
}

// OnErrorFor is the policy of check name, with the defaults applied.
func (c *Config) OnErrorFor(name string) string {
	if p, ok := c.Checks.OnError[name]; ok {
		return p
	}
	if c.Dev || name == "dnsbl" || name == "iprev" {
		return "accept"
	}
	return "tempfail"
}

// TrustedPrefixes returns checks.trusted_networks parsed (Validate has
// checked them).
func (c *Config) TrustedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range c.Checks.TrustedNetworks {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ReportEmail is checks.dmarc_report_email, postmaster@hostname when
// unset.
func (c *Config) ReportEmail() string {
	if c.Checks.DMARCReportEmail != "" {
		return c.Checks.DMARCReportEmail
	}
	return "postmaster@" + c.Hostname
}

// ChecksResolver is the DNS server the checks ask ("" for the system's).
func (c *Config) ChecksResolver() string {
	if c.Checks.Resolver != "" {
		return c.Checks.Resolver
	}
	return c.Outbound.Resolver
}

func (c *Config) validateChecks(bad func(key, format string, args ...any)) {
	k := c.Checks
	if k.Resolver != "" {
		if _, p, err := net.SplitHostPort(k.Resolver); err != nil || p == "" {
			bad("checks.resolver", "%q is not host:port", k.Resolver)
		}
	}
	for _, n := range k.TrustedNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			bad("checks.trusted_networks", "%q is not a CIDR", n)
		}
	}
	for key, lists := range map[string][]string{"checks.dnsbl": k.DNSBL, "checks.dnswl": k.DNSWL} {
		for _, l := range lists {
			zone, _, _ := strings.Cut(l, "=")
			if strings.TrimSpace(zone) == "" || strings.ContainsAny(zone, " /") {
				bad(key, "%q is not a DNS zone", l)
			}
		}
	}
	if k.Timeout.Duration <= 0 {
		bad("checks.timeout", "must be positive")
	}
	if k.PregreetWait.Duration < 0 {
		bad("checks.pregreet_wait", "must not be negative")
	}
	if k.GreylistDelay.Duration < 0 {
		bad("checks.greylist_delay", "must not be negative")
	}
	for key, v := range map[string]int{"rate_messages_per_ip": k.RateMessagesPerIP, "rate_recipients_per_ip": k.RateRecipientsPerIP,
		"rate_messages_per_user": k.RateMessagesPerUser, "rate_recipients_per_user": k.RateRecipientsPerUser} {
		if v < 0 {
			bad("checks."+key, "must not be negative (0 is no limit)")
		}
	}
	if e := k.DMARCReportEmail; e != "" {
		local, domain, ok := strings.Cut(e, "@")
		if !ok || local == "" || domain == "" || strings.ContainsAny(e, " \t<>,;\"") || strings.Contains(domain, "@") {
			bad("checks.dmarc_report_email", "%q is not an address local@domain", e)
		}
	}
	for name, p := range k.OnError {
		if !slices.Contains(CheckNames, name) {
			bad("checks.on_error", "unknown check %q (known: %s)", name, strings.Join(CheckNames, ", "))
		}
		if p != "tempfail" && p != "accept" {
			bad("checks.on_error."+name, "must be \"tempfail\" or \"accept\"")
		}
	}
}
