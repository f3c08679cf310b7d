package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "facteur.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestContractKeys(t *testing.T) {
	c, err := Load(write(t, `
hostname = "mail.example.org"
data_dir = "/var/lib/facteur"
[listen]
smtp = ":25"
submission = ":587"
submissions = ":465"
imap = ":143"
imaps = ":993"
pop3 = ":110"
pop3s = ":995"
lmtp = "unix:/run/facteur/lmtp.sock"
http = ""
managesieve = ":4190"
[tls]
cert = "/etc/facteur/fullchain.pem"
key = "/etc/facteur/privkey.pem"
[auth]
plaintext_networks = ["127.0.0.1/32", "::1/128"]
failure_delay = "250ms"
[pop3]
delete = "trash"
idle_timeout = "15m"
[submission]
pop_before_smtp = "10m"
[sieve]
max_script_size = 1048576
max_scripts = 10
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hostname != "mail.example.org" || c.Listen.LMTP != "unix:/run/facteur/lmtp.sock" || c.Listen.HTTP != "" ||
		c.TLS.Key != "/etc/facteur/privkey.pem" || len(c.PlaintextPrefixes()) != 2 || c.Auth.FailureDelay.Duration != 250*time.Millisecond {
		t.Fatalf("loaded %+v", c)
	}
	if c.POP3.Delete != "trash" || c.POP3.IdleTimeout.Duration != 15*time.Minute {
		t.Fatalf("pop3 section %+v", c.POP3)
	}
	if c.Submission.PopBeforeSMTP.Duration != 10*time.Minute {
		t.Fatalf("submission section %+v", c.Submission)
	}
	if c.Listen.ManageSieve != ":4190" || c.Sieve.MaxScriptSize != 1<<20 || c.Sieve.MaxScripts != 10 {
		t.Fatalf("managesieve listener %q, sieve section %+v", c.Listen.ManageSieve, c.Sieve)
	}
	if c.Limits.MaxMessageBytes != Default().Limits.MaxMessageBytes {
		t.Fatal("unset key lost its default")
	}
}

func TestAllErrorsAtOnceWithTheirKeys(t *testing.T) {
	_, err := Load(write(t, `
hostname = ""
typo_key = 1
[tls]
cert = "/only/cert.pem"
[auth]
plaintext_networks = ["not-a-cidr"]
failure_delay = "-1s"
[limits]
max_line_length = 10
max_connections_per_ip = -1
default_quota_bytes = -5
[log]
level = "loud"
[pop3]
delete = "shred"
idle_timeout = "1m"
[submission]
pop_before_smtp = "-5m"
`))
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"hostname:", "typo_key: unknown key", "tls:", "auth.plaintext_networks:", "limits.max_line_length:", "log.level:",
		"pop3.delete:", "pop3.idle_timeout:", "auth.failure_delay:", "limits.max_connections_per_ip:", "limits.default_quota_bytes:", "submission.pop_before_smtp:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestDevelopmentDefaults(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := Listen{SMTP: "127.0.0.1:2525", Submission: "127.0.0.1:5587", Submissions: "127.0.0.1:5465",
		IMAP: "127.0.0.1:1143", IMAPS: "127.0.0.1:1993", POP3: "127.0.0.1:1110", POP3S: "127.0.0.1:1995",
		LMTP: "unix:facteur-data/lmtp.sock", HTTP: "127.0.0.1:8080", ManageSieve: "127.0.0.1:4190"}
	if !c.Dev || c.DataDir != "./facteur-data" || c.Listen != want {
		t.Fatalf("development config %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestPopBeforeSMTPOff: POP-before-SMTP is off by default, and "" and "0"
// (string or integer) turn it off too.
func TestPopBeforeSMTPOff(t *testing.T) {
	if d := Default().Submission.PopBeforeSMTP.Duration; d != 0 {
		t.Fatalf("default %v", d)
	}
	for _, v := range []string{`""`, `"0"`, `0`, `"0s"`} {
		c, err := Load(write(t, "[submission]\npop_before_smtp = "+v+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if c.Submission.PopBeforeSMTP.Duration != 0 {
			t.Errorf("%s: %v", v, c.Submission.PopBeforeSMTP.Duration)
		}
	}
	if _, err := Load(write(t, "[submission]\npop_before_smtp = \"ten minutes\"\n")); err == nil ||
		!strings.Contains(err.Error(), "pop_before_smtp") {
		t.Fatalf("bad duration: %v", err)
	}
}

// The [checks] keys the inbound-checks issue names are a contract.
func TestChecksContractKeys(t *testing.T) {
	c, err := Load(write(t, `
hostname = "mail.example.org"
[checks]
resolver = "127.0.0.1:5353"
spf = false
dkim = false
dmarc = false
dnsbl = []
greylist = true
on_error = { dnsbl = "tempfail", spf = "accept" }
`))
	if err != nil {
		t.Fatal(err)
	}
	k := c.Checks
	if k.Resolver != "127.0.0.1:5353" || k.SPF || k.DKIM || k.DMARC || len(k.DNSBL) != 0 || !k.Greylist ||
		c.OnErrorFor("dnsbl") != "tempfail" || c.OnErrorFor("spf") != "accept" || c.OnErrorFor("dmarc") != "tempfail" {
		t.Fatalf("%+v", k)
	}
	d := Default()
	if !d.Checks.SPF || !d.Checks.DKIM || !d.Checks.DMARC || d.Checks.Greylist || len(d.Checks.DNSBL) != 1 ||
		d.Checks.DNSBL[0] != "zen.spamhaus.org" || d.ChecksResolver() != "" {
		t.Fatalf("defaults %+v", d.Checks)
	}
	if !d.Checks.DMARCReports || d.ReportEmail() != "postmaster@"+d.Hostname {
		t.Fatalf("DMARC report defaults: %v %q", d.Checks.DMARCReports, d.ReportEmail())
	}
	if dev := Development(); dev.OnErrorFor("dmarc") != "accept" {
		t.Fatal("the development instance tempfails on DNS errors")
	}
	c, err = Load(write(t, "hostname = \"mx.example.org\"\n[checks]\ndmarc_reports = false\ndmarc_report_email = \"dmarc@example.org\"\n"))
	if err != nil || c.Checks.DMARCReports || c.ReportEmail() != "dmarc@example.org" {
		t.Fatalf("dmarc_reports, dmarc_report_email: %v %+v", err, c)
	}
	if _, err := Load(write(t, "hostname = \"x\"\n[checks]\non_error = { spam = \"accept\", dkim = \"maybe\" }\nresolver = \"nohost\"\ndmarc_report_email = \"postmaster\"\n")); err == nil ||
		!strings.Contains(err.Error(), "checks.on_error") || !strings.Contains(err.Error(), "checks.resolver") ||
		!strings.Contains(err.Error(), "checks.dmarc_report_email") {
		t.Fatalf("bad [checks] accepted: %v", err)
	}
}

func TestSieveDefaultsAndBounds(t *testing.T) {
	c := Default()
	if c.Listen.ManageSieve != ":4190" || c.Sieve.MaxScriptSize != 64<<10 || c.Sieve.MaxScripts != 32 {
		t.Fatalf("defaults: listen.managesieve %q, sieve %+v", c.Listen.ManageSieve, c.Sieve)
	}
	c.Sieve = Sieve{MaxScriptSize: 100, MaxScripts: 0}
	err := c.Validate()
	for _, key := range []string{"sieve.max_script_size", "sieve.max_scripts"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s out of bounds: %v", key, err)
		}
	}
}
