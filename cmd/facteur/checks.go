package main

import (
	"fmt"
	"log/slog"
	"strings"

	"facteur.dev/facteur/internal/checks/dkim"
	"facteur.dev/facteur/internal/checks/dnsbl"
	"facteur.dev/facteur/internal/checks/iprev"
	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
)

// buildChecks makes the MX listener's inbound checks from [checks], and a
// line for the start banner saying what runs and how failures are met.
func buildChecks(cfg *config.Config, log *slog.Logger) (*delivery.Checks, string, error) {
	res := dns.New(cfg.ChecksResolver())
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
	if cfg.Checks.DKIM {
		add(&dkim.Check{Resolver: res}, "dkim")
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
