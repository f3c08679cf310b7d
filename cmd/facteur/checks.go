package main

import (
	"fmt"
	"log/slog"
	"strings"

	"facteur.dev/facteur/internal/checks/arc"
	"facteur.dev/facteur/internal/checks/dkim"
	"facteur.dev/facteur/internal/checks/dmarc"
	"facteur.dev/facteur/internal/checks/dnsbl"
	"facteur.dev/facteur/internal/checks/greylist"
	"facteur.dev/facteur/internal/checks/iprev"
	"facteur.dev/facteur/internal/checks/ratelimit"
	"facteur.dev/facteur/internal/checks/spf"
	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dmarcreport"
	"facteur.dev/facteur/internal/dns"
)

// listenerChecks are the checks of the MX and the submission listeners.
type listenerChecks struct {
	mx, submission *delivery.Checks
}

// buildChecks makes the listeners' checks from [checks], and a line for
// the start banner saying what runs on the MX listener and how failures
// are met. Submission gets the per-user rate limits only. rec, when not
// nil, keeps the DMARC evaluations for aggregate reports.
func buildChecks(cfg *config.Config, rec *dmarcreport.Recorder, log *slog.Logger) (listenerChecks, string, error) {
	mx, summary, err := buildMXChecks(cfg, rec, log)
	if err != nil {
		return listenerChecks{}, "", err
	}
	k := cfg.Checks
	rl := &ratelimit.Check{MessagesPerUser: k.RateMessagesPerUser, RecipientsPerUser: k.RateRecipientsPerUser}
	sub := delivery.NewChecks(cfg.Hostname, log.With("part", "checks"), rl)
	return listenerChecks{mx: mx, submission: sub}, summary, nil
}

func buildMXChecks(cfg *config.Config, rec *dmarcreport.Recorder, log *slog.Logger) (*delivery.Checks, string, error) {
	res := dns.New(cfg.ChecksResolver())
	k := cfg.Checks
	var list []delivery.Check
	var names []string
	add := func(c delivery.Check, label string) {
		list = append(list, c)
		names = append(names, label)
	}
	if cfg.Checks.IPRev {
		add(&iprev.Check{Resolver: res}, "iprev")
	}
	if len(cfg.Checks.DNSBL)+len(cfg.Checks.DNSWL) > 0 {
		c := &dnsbl.Check{Resolver: res, Skip: cfg.TrustedPrefixes()}
		for _, l := range cfg.Checks.DNSBL {
			bl, err := dnsbl.ParseList(l)
			if err != nil {
				return nil, "", fmt.Errorf("checks.dnsbl: %w", err)
			}
			c.Block = append(c.Block, bl)
		}
		for _, l := range cfg.Checks.DNSWL {
			wl, err := dnsbl.ParseList(l)
			if err != nil {
				return nil, "", fmt.Errorf("checks.dnswl: %w", err)
			}
			c.Allow = append(c.Allow, wl)
		}
		add(c, "dnsbl("+strings.Join(append(append([]string{}, cfg.Checks.DNSBL...), cfg.Checks.DNSWL...), " ")+")")
	}
	if k.RateMessagesPerIP > 0 || k.RateRecipientsPerIP > 0 {
		add(&ratelimit.Check{MessagesPerIP: k.RateMessagesPerIP, RecipientsPerIP: k.RateRecipientsPerIP,
			Skip: cfg.TrustedPrefixes()}, fmt.Sprintf("ratelimit(%d messages, %d recipients per IP per hour)",
			k.RateMessagesPerIP, k.RateRecipientsPerIP))
	}
	if k.SPF {
		add(&spf.MailCheck{Checker: &spf.Checker{Resolver: res}}, "spf")
	}
	if k.DKIM {
		add(&dkim.Check{Resolver: res}, "dkim")
	}
	if k.ARC {
		label := "arc"
		if len(k.ARCTrustedSealers) > 0 {
			label += "(trusting " + strings.Join(k.ARCTrustedSealers, " ") + ")"
		}
		add(&arc.Check{Resolver: res, TrustedSealers: k.ARCTrustedSealers}, label)
	}
	if k.DMARC || k.SPF || k.DKIM {
		// Evaluated whenever SPF or DKIM runs, for Authentication-
		// Results; p=reject and p=quarantine enforced with checks.dmarc.
		d := dmarc.New(res)
		d.Enforce, d.Log = k.DMARC, log
		// With on_error accept, a DNS failure is recorded as
		// dmarc=temperror rather than skipped.
		d.TempfailOnDNSError = cfg.OnErrorFor("dmarc") == "tempfail"
		label := "dmarc"
		if !k.DMARC {
			label = "dmarc(recorded only)"
		}
		if rec != nil {
			d.Recorder = rec
			label += "+reports"
		}
		add(d, label)
	}
	if k.Greylist {
		g := &greylist.Check{Delay: k.GreylistDelay.Duration, Skip: cfg.TrustedPrefixes()}
		add(g, g.String())
	}
	cs := delivery.NewChecks(cfg.Hostname, log.With("part", "checks"), list...)
	cs.SetTimeout(cfg.Checks.Timeout.Duration)
	for _, name := range config.CheckNames {
		p, err := delivery.ParseOnError(cfg.OnErrorFor(name))
		if err != nil {
			return nil, "", fmt.Errorf("checks.on_error.%s: %w", name, err)
		}
		cs.SetOnError(name, p)
	}
	if w := k.PregreetWait.Duration; w > 0 {
		names = append(names, fmt.Sprintf("pregreet(%s)", w))
	}
	summary := "none"
	if len(names) > 0 {
		summary = strings.Join(names, " ")
	}
	summary = fmt.Sprintf("%s; DNS %s; on a check's failure: %s", summary, res.Server(), onErrorSummary(cfg))
	return cs, summary, nil
}

// onErrorSummary says how failing checks are answered, for the banner.
func onErrorSummary(cfg *config.Config) string {
	var parts []string
	for _, name := range config.CheckNames {
		parts = append(parts, name+"="+cfg.OnErrorFor(name))
	}
	s := strings.Join(parts, " ")
	if cfg.Dev {
		s += " (development instance: with no DNS, results are temperror/none and mail is accepted)"
	}
	return s
}
