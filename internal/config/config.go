// Package config is Facteur's typed configuration: a TOML file whose every
// key has a default in code. Load reads the file over the defaults and
// Validate reports every error at once, each with its key.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration. TOML key names are a contract relied on
// by outside tests: add keys, never rename them.
type Config struct {
	Hostname string `toml:"hostname"`
	DataDir  string `toml:"data_dir"`
	// Postmaster receives mail for postmaster@ of the domains that have
	// no account or alias of that name; "" is each domain's oldest account.
	Postmaster string     `toml:"postmaster"`
	Listen     Listen     `toml:"listen"`
	TLS        TLS        `toml:"tls"`
	Auth       Auth       `toml:"auth"`
	Limits     Limits     `toml:"limits"`
	Store      Store      `toml:"store"`
	Log        Log        `toml:"log"`
	POP3       POP3       `toml:"pop3"`
	Submission Submission `toml:"submission"`
	Outbound   Outbound   `toml:"outbound"`
	Checks     Checks     `toml:"checks"` // checks.go
	Sieve      Sieve      `toml:"sieve"`

	// Dev is true when no config file was given: the development instance.
	Dev bool `toml:"-"`
}

// Listen holds the listener addresses; "" disables one, "unix:/path" is a
// unix socket.
type Listen struct {
	SMTP        string `toml:"smtp"`
	Submission  string `toml:"submission"`
	Submissions string `toml:"submissions"`
	IMAP        string `toml:"imap"`
	IMAPS       string `toml:"imaps"`
	POP3        string `toml:"pop3"`
	POP3S       string `toml:"pop3s"`
	LMTP        string `toml:"lmtp"`
	HTTP        string `toml:"http"`
	ManageSieve string `toml:"managesieve"` // RFC 5804, STARTTLS
}

// TLS names the certificate files; both empty means a self-signed
// certificate generated once into data_dir.
type TLS struct {
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// Auth holds authentication policy.
type Auth struct {
	// PlaintextNetworks are CIDRs from which password logins are accepted
	// without TLS (e.g. a local webmail). Default none.
	PlaintextNetworks []string `toml:"plaintext_networks"`
	// CacheTTL is how long a successful password verification is remembered.
	CacheTTL Duration `toml:"cache_ttl"`
	// MaxFailuresPerIP bounds failed logins from one client network (an
	// IPv4 address, an IPv6 /64) and MaxFailuresPerAccount those against
	// one account from one client network, within FailureWindow. An
	// account is never refused to every network: its failures from all
	// networks only lengthen FailureDelay (see auth.Options).
	MaxFailuresPerIP      int      `toml:"max_failures_per_ip"`
	MaxFailuresPerAccount int      `toml:"max_failures_per_account"`
	FailureWindow         Duration `toml:"failure_window"`
	FailureDelay          Duration `toml:"failure_delay"`
	// MaxQueuedLogins bounds the logins waiting for a password hash.
	MaxQueuedLogins int `toml:"max_queued_logins"`
}

// Limits bound what one client may cost the server.
type Limits struct {
	MaxMessageBytes     int64    `toml:"max_message_bytes"`
	MaxRecipients       int      `toml:"max_recipients"`
	MaxLineLength       int      `toml:"max_line_length"`
	MaxConnections      int      `toml:"max_connections"`
	MaxConnectionsPerIP int      `toml:"max_connections_per_ip"`
	SMTPTimeout         Duration `toml:"smtp_timeout"`
	DefaultQuotaBytes   int64    `toml:"default_quota_bytes"`
	ShutdownGrace       Duration `toml:"shutdown_grace"`
	// Refused recipients (smtpd errlimit.go, Postfix's names and
	// defaults): past the soft limit in a session each refusal waits
	// SMTPErrorSleep; the hard limit ends the session; past
	// SMTPRcptErrorsPerIP in an hour from one address, every session
	// ends at its first refusal (0: no per-address limit).
	// LoginTimeout bounds the wait for each IMAP or POP3 command before
	// login; StressTimeout that of every SMTP command before AUTH and of
	// IMAP and POP3 commands before login, while a listener holds three
	// quarters of MaxConnections (netlimit idle.go).
	LoginTimeout  Duration `toml:"login_timeout"`
	StressTimeout Duration `toml:"stress_timeout"`
	// MinFreeBytes: SMTP transactions are refused (452 4.3.1) at MAIL and
	// RCPT unless the data directory has this plus 1.5 × SIZE= free.
	MinFreeBytes        int64    `toml:"min_free_bytes"`
	SMTPSoftErrorLimit  int      `toml:"smtp_soft_error_limit"`
	SMTPHardErrorLimit  int      `toml:"smtp_hard_error_limit"`
	SMTPErrorSleep      Duration `toml:"smtp_error_sleep"`
	SMTPRcptErrorsPerIP int      `toml:"smtp_rcpt_errors_per_ip"`
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (runtime/debug.SetMemoryLimit); 0 derives one (cmd/facteur).
	MemoryLimit int64 `toml:"memory_limit"`
}

// Store selects and tunes the storage backend.
type Store struct {
	// Backend is "sqlite" (the embedded default).
	Backend string `toml:"backend"`
	// Fsync may be turned off only for throwaway benchmarks: a message
	// acknowledged with 250 may then be lost on power failure.
	Fsync bool `toml:"fsync"`
	// ReserveBytes is the reserve file that keeps flag changes and
	// expunges working on a full disk (sqlite reserve.go); 0: none.
	ReserveBytes int64 `toml:"reserve_bytes"`
}

// POP3 tunes the POP3 listeners.
type POP3 struct {
	// Delete is what a POP3 DELE (committed at QUIT) does to a message:
	// "expunge" removes it (IMAP clients see an expunge), "trash" moves it
	// to the account's Trash, "hide" keeps it for IMAP and hides it from
	// POP3 with the $POP3Deleted keyword.
	Delete string `toml:"delete"`
	// IdleTimeout closes a session idle this long; RFC 1939 §3 asks for at
	// least 10 minutes.
	IdleTimeout Duration `toml:"idle_timeout"`
}

// Sieve bounds each account's Sieve scripts (uploaded over ManageSieve
// or with facteur sieve put).
type Sieve struct {
	// MaxScriptSize is the largest script in octets. 64 KiB holds the
	// largest hand-written or webmail-generated filter sets (hundreds of
	// rules are some 30 KiB) while bounding what a PUTSCRIPT holds in
	// memory: 64 MiB at limits.max_connections' 1000 sessions uploading
	// at once. Dovecot's 1 MiB serves scripts generated from long lists.
	MaxScriptSize int64 `toml:"max_script_size"`
	// MaxScripts is how many scripts an account may keep.
	MaxScripts int `toml:"max_scripts"`
	// GlobalDir holds the administrator's scripts that include :global
	// names (RFC 6609 §3.2), as NAME.sieve; relative to data_dir. ""
	// is data_dir/sieve-global.
	GlobalDir string `toml:"global_dir"`
}

// Submission tunes the submission listeners (listen.submission and
// listen.submissions; never listen.smtp or listen.lmtp).
type Submission struct {
	// PopBeforeSMTP, when positive, is POP-before-SMTP: a client IP that
	// logged in successfully over POP3 or IMAP less than this long ago may
	// submit without AUTH, to any recipient and with any sender but the
	// null one. "" or "0" (the default) turns it off.
	PopBeforeSMTP OptionalDuration `toml:"pop_before_smtp"`
}

// Log configures structured logs.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Duration is a time.Duration written in TOML as a string such as "5m".
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	d.Duration = v
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// OptionalDuration is a Duration that may also be written "" for zero
// (off).
type OptionalDuration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *OptionalDuration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		d.Duration = 0
		return nil
	}
	var v Duration
	err := v.UnmarshalText(b)
	d.Duration = v.Duration
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (d OptionalDuration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the production defaults: standard ports on all addresses.
func Default() *Config {
	host, _ := os.Hostname()
	return &Config{
		Hostname: host,
		DataDir:  "/var/lib/facteur",
		Listen: Listen{
			SMTP: ":25", Submission: ":587", Submissions: ":465",
			IMAP: ":143", IMAPS: ":993", POP3: ":110", POP3S: ":995",
			LMTP: "unix:/run/facteur/lmtp.sock", HTTP: ":8080", ManageSieve: ":4190",
		},
		Auth: Auth{
			CacheTTL:              Duration{5 * time.Minute},
			MaxFailuresPerIP:      20,
			MaxFailuresPerAccount: 10,
			FailureWindow:         Duration{15 * time.Minute},
			FailureDelay:          Duration{2 * time.Second},
			MaxQueuedLogins:       256,
		},
		Limits: Limits{
			MaxMessageBytes:     50 << 20,
			MaxRecipients:       100,      // RFC 5321 §4.5.3.1.8 minimum
			MaxLineLength:       64 << 10, // also message lines: go-smtp has one limit for both
			MaxConnections:      1000,
			MaxConnectionsPerIP: 50,                        // Postfix's smtpd_client_connection_count_limit
			SMTPTimeout:         Duration{5 * time.Minute}, // RFC 5321 §4.5.3.2.7
			DefaultQuotaBytes:   0,                         // unlimited
			ShutdownGrace:       Duration{10 * time.Second},
			LoginTimeout:        Duration{3 * time.Minute},
			StressTimeout:       Duration{10 * time.Second},
			MinFreeBytes:        32 << 20,
			SMTPSoftErrorLimit:  10,
			SMTPHardErrorLimit:  20,
			SMTPErrorSleep:      Duration{time.Second},
			SMTPRcptErrorsPerIP: 100,
		},
		Store:    Store{Backend: "sqlite", Fsync: true, ReserveBytes: 16 << 20},
		Log:      Log{Level: "info", Format: "text"},
		POP3:     POP3{Delete: "expunge", IdleTimeout: Duration{10 * time.Minute}},
		Outbound: defaultOutbound(),
		Checks:   defaultChecks(),
		Sieve:    Sieve{MaxScriptSize: 64 << 10, MaxScripts: 32},
	}
}

// Development returns the configuration used when no file is given: data in
// ./facteur-data and every listener on 127.0.0.1 at an unprivileged port.
func Development() *Config {
	c := Default()
	c.Dev = true
	c.Hostname = "localhost"
	c.DataDir = "./facteur-data"
	c.Listen = Listen{
		SMTP: "127.0.0.1:2525", Submission: "127.0.0.1:5587", Submissions: "127.0.0.1:5465",
		IMAP: "127.0.0.1:1143", IMAPS: "127.0.0.1:1993", POP3: "127.0.0.1:1110", POP3S: "127.0.0.1:1995",
		LMTP: "unix:facteur-data/lmtp.sock", HTTP: "127.0.0.1:8080", ManageSieve: "127.0.0.1:4190",
	}
	c.Auth.FailureDelay = Duration{time.Second}
	return c
}

// Load reads path over the defaults. An empty path gives Development().
// Unknown keys are errors, so a typo does not silently keep a default.
func Load(path string) (*Config, error) {
	if path == "" {
		return Development(), nil
	}
	c := Default()
	md, err := toml.DecodeFile(path, c)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var errs []error
	for _, k := range md.Undecoded() {
		errs = append(errs, fmt.Errorf("%s: unknown key", k))
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("config %s:\n%w", path, errors.Join(errs...))
	}
	return c, nil
}

// Validate returns every problem at once, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Hostname == "" {
		bad("hostname", "must not be empty")
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if c.Postmaster != "" && !strings.Contains(strings.Trim(c.Postmaster, "@"), "@") {
		bad("postmaster", "%q is not an address", c.Postmaster)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("tls", "cert and key must be set together")
	}
	for _, n := range c.Auth.PlaintextNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			bad("auth.plaintext_networks", "%q is not a CIDR", n)
		}
	}
	if c.Limits.MaxMessageBytes < 1024 {
		bad("limits.max_message_bytes", "must be at least 1024")
	}
	if c.Limits.MaxRecipients < 1 {
		bad("limits.max_recipients", "must be at least 1")
	}
	if c.Limits.MaxLineLength < 1000 { // RFC 5321 §4.5.3.1.6
		bad("limits.max_line_length", "must be at least 1000 (RFC 5321 §4.5.3.1.6)")
	}
	c.validateNonNegative(bad)
	if l := c.Limits; l.SMTPSoftErrorLimit < 1 || l.SMTPHardErrorLimit <= l.SMTPSoftErrorLimit {
		bad("limits.smtp_hard_error_limit", "must be above limits.smtp_soft_error_limit, itself at least 1")
	}
	if c.Store.Backend != "sqlite" {
		bad("store.backend", "unknown backend %q (known: sqlite)", c.Store.Backend)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error")
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "must be text or json")
	}
	switch c.POP3.Delete {
	case "expunge", "trash", "hide":
	default:
		bad("pop3.delete", "must be expunge, trash or hide")
	}
	if c.POP3.IdleTimeout.Duration < 10*time.Minute { // RFC 1939 §3
		bad("pop3.idle_timeout", "must be at least 10m (RFC 1939 §3)")
	}
	if c.Sieve.MaxScriptSize < 1024 || c.Sieve.MaxScriptSize > 16<<20 {
		bad("sieve.max_script_size", "must be between 1024 and 16777216")
	}
	if c.Sieve.MaxScripts < 1 {
		bad("sieve.max_scripts", "must be at least 1")
	}
	c.validateOutbound(bad)
	c.validateChecks(bad)
	return errors.Join(errs...)
}

// validateNonNegative refuses negative counts, sizes and durations, which
// would otherwise read as "no limit" or fire at once.
func (c *Config) validateNonNegative(bad func(key, format string, args ...any)) {
	ints := map[string]int64{
		"auth.max_failures_per_ip":       int64(c.Auth.MaxFailuresPerIP),
		"auth.max_failures_per_account":  int64(c.Auth.MaxFailuresPerAccount),
		"limits.max_connections":         int64(c.Limits.MaxConnections),
		"limits.max_connections_per_ip":  int64(c.Limits.MaxConnectionsPerIP),
		"limits.default_quota_bytes":     c.Limits.DefaultQuotaBytes,
		"auth.cache_ttl":                 int64(c.Auth.CacheTTL.Duration),
		"auth.failure_window":            int64(c.Auth.FailureWindow.Duration),
		"auth.failure_delay":             int64(c.Auth.FailureDelay.Duration),
		"limits.shutdown_grace":          int64(c.Limits.ShutdownGrace.Duration),
		"limits.smtp_error_sleep":        int64(c.Limits.SMTPErrorSleep.Duration),
		"limits.login_timeout":           int64(c.Limits.LoginTimeout.Duration),
		"limits.min_free_bytes":          c.Limits.MinFreeBytes,
		"store.reserve_bytes":            c.Store.ReserveBytes,
		"limits.stress_timeout":          int64(c.Limits.StressTimeout.Duration),
		"limits.smtp_rcpt_errors_per_ip": int64(c.Limits.SMTPRcptErrorsPerIP),
		"limits.memory_limit":            c.Limits.MemoryLimit,
		"submission.pop_before_smtp":     int64(c.Submission.PopBeforeSMTP.Duration),
		"auth.max_queued_logins":         int64(c.Auth.MaxQueuedLogins),
	}
	for key, v := range ints {
		if v < 0 {
			bad(key, "must not be negative")
		}
	}
	if c.Limits.SMTPTimeout.Duration <= 0 {
		bad("limits.smtp_timeout", "must be positive")
	}
}

// PlaintextPrefixes returns the parsed auth.plaintext_networks.
func (c *Config) PlaintextPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range c.Auth.PlaintextNetworks {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// SieveGlobalDir is the directory of the global Sieve scripts.
func (c *Config) SieveGlobalDir() string {
	if c.Sieve.GlobalDir == "" {
		return c.Path("sieve-global")
	}
	return c.Path(c.Sieve.GlobalDir)
}

// Path resolves p relative to the data directory unless it is absolute.
func (c *Config) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.DataDir, p)
}

// SplitListen splits a listener address into network and address:
// "unix:/path" gives ("unix", "/path"), anything else ("tcp", addr).
func SplitListen(addr string) (network, address string) {
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		return "unix", rest
	}
	return "tcp", addr
}
