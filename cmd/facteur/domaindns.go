package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

// addDKIMKeys makes domain's Ed25519 and RSA-2048 keys in data_dir/dkim.
func addDKIMKeys(e *env, domain string) error {
	cfg, err := config.Load(e.configPath)
	if err != nil {
		return err
	}
	if err := dkim.New(cfg.DataDir).Generate(domain); err != nil {
		return fmt.Errorf("dkim keys for %s: %w", domain, err)
	}
	fmt.Fprintf(e.stdout, "DKIM keys for %s in %s (selectors %s, %s); 'facteur domain dns %s' prints the records\n",
		domain, cfg.Path("dkim/"+domain), dkim.SelectorEd25519, dkim.SelectorRSA, domain)
	return nil
}

// runDomainDNS prints the DNS records a domain needs, in zone file form.
func runDomainDNS(ctx context.Context, e *env, name string) error {
	d, err := mail.NormalizeDomain(name)
	if err != nil {
		return usagef("%v", err)
	}
	cfg, s, err := openStore(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if ok, err := s.HasDomain(ctx, d); err != nil {
		return err
	} else if !ok {
		return explain(store.ErrNotFound, "domain "+d)
	}
	keys := dkim.New(cfg.DataDir)
	if err := keys.Generate(d); err != nil { // keeps existing keys
		return err
	}
	recs, err := keys.Records(d)
	if err != nil {
		return err
	}
	printZone(e.stdout, d, cfg.Hostname, recs)
	return nil
}

func printZone(w io.Writer, d, host string, recs []dkim.Record) {
	h := host + "."
	rr := func(name, typ, value string) { fmt.Fprintf(w, "%-40s 3600 IN %-5s %s\n", name+".", typ, value) }
	fmt.Fprintf(w, "; DNS records for %s, served by %s\n", d, host)
	rr(d, "MX", "10 "+h)
	rr(d, "TXT", `"v=spf1 mx -all"`)
	for _, r := range recs {
		rr(r.Name, "TXT", txtStrings(r.Value))
	}
	rr("_dmarc."+d, "TXT", fmt.Sprintf(`"v=DMARC1; p=quarantine; rua=mailto:postmaster@%s"`, d))
	rr("mta-sts."+d, "CNAME", h)
	rr("_mta-sts."+d, "TXT", fmt.Sprintf(`"v=STSv1; id=%s"`, time.Now().UTC().Format("20060102T150405")))
	rr("_smtp._tls."+d, "TXT", fmt.Sprintf(`"v=TLSRPTv1; rua=mailto:postmaster@%s"`, d))
	rr("autoconfig."+d, "CNAME", h)
	for _, srv := range []struct {
		svc  string
		port int
	}{{"_submissions", 465}, {"_submission", 587}, {"_imaps", 993}, {"_imap", 143}, {"_pop3s", 995}, {"_pop3", 110}, {"_autodiscover", 443}} {
		rr(srv.svc+"._tcp."+d, "SRV", fmt.Sprintf("0 1 %d %s", srv.port, h)) // RFC 6186, RFC 8314 §5.1
	}
	fmt.Fprintf(w, "; MTA-STS policy (RFC 8461) to serve at https://mta-sts.%s/.well-known/mta-sts.txt:\n", d)
	fmt.Fprintf(w, ";   version: STSv1\n;   mode: enforce\n;   mx: %s\n;   max_age: 604800\n", host)
}

// txtStrings splits a long TXT value into quoted strings of at most 255
// bytes (RFC 1035 §3.3.14), as an RSA key needs.
func txtStrings(v string) string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+v[:255]+`"`)
		v = v[255:]
	}
	parts = append(parts, `"`+v+`"`)
	return strings.Join(parts, " ")
}
