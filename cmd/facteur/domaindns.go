package main

import (
	"context"
	"fmt"
	"io"
	"net"
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
	printZone(e.stdout, d, cfg.Hostname, recs, &cfg.Listen)
	return nil
}

func printZone(w io.Writer, d, host string, recs []dkim.Record, l *config.Listen) {
	h := host + "."
	rr := func(name, typ, value string) { fmt.Fprintf(w, "%-40s 3600 IN %-5s %s\n", name+".", typ, value) }
	fmt.Fprintf(w, "; DNS records for %s, served by %s\n", d, host)
	rr(d, "MX", "10 "+h)
	rr(d, "TXT", `"v=spf1 mx -all"`)
	for _, r := range recs {
		rr(r.Name, "TXT", txtStrings(r.Value))
	}
	rr("_dmarc."+d, "TXT", fmt.Sprintf(`"v=DMARC1; p=quarantine; rua=mailto:postmaster@%s"`, d))
	rr("_smtp._tls."+d, "TXT", fmt.Sprintf(`"v=TLSRPTv1; rua=mailto:postmaster@%s"`, d))
	// RFC 6186 §3.4, RFC 8314 §5.1: a service this configuration serves
	// gets its port, one it does not serve the "not offered" target ".".
	fmt.Fprintf(w, "; client services (RFC 6186): the ports this configuration serves; \".\" says a service is not offered\n")
	for _, srv := range []struct {
		svc, addr string
	}{{"_submissions", l.Submissions}, {"_submission", l.Submission}, {"_imaps", l.IMAPS}, {"_imap", l.IMAP}, {"_pop3s", l.POP3S}, {"_pop3", l.POP3}, {"_sieve", l.ManageSieve}} { // _sieve: RFC 5804 §1.8
		port := listenPort(srv.addr)
		if port == "" {
			rr(srv.svc+"._tcp."+d, "SRV", "0 0 0 .")
			continue
		}
		rr(srv.svc+"._tcp."+d, "SRV", fmt.Sprintf("0 1 %s %s", port, h))
	}
	fmt.Fprintf(w, "; needing the HTTP listener, which is not built yet (publish them once it is): MTA-STS (RFC 8461), autoconfig\n")
	fmt.Fprintf(w, "; %-38s 3600 IN CNAME %s\n", "mta-sts."+d+".", h)
	fmt.Fprintf(w, "; %-38s 3600 IN TXT   \"v=STSv1; id=%s\"\n", "_mta-sts."+d+".", time.Now().UTC().Format("20060102T150405"))
	fmt.Fprintf(w, "; %-38s 3600 IN CNAME %s\n", "autoconfig."+d+".", h)
	fmt.Fprintf(w, "; %-38s 3600 IN SRV   0 1 443 %s\n", "_autodiscover._tcp."+d+".", h)
	fmt.Fprintf(w, "; MTA-STS policy to serve at https://mta-sts.%s/.well-known/mta-sts.txt:\n", d)
	fmt.Fprintf(w, ";   version: STSv1\n;   mode: enforce\n;   mx: %s\n;   max_age: 604800\n", host)
}

// listenPort is the TCP port of a listener address, "" for a listener
// that is off or not on TCP.
func listenPort(addr string) string {
	if network, a := config.SplitListen(addr); addr == "" || network != "tcp" {
		return ""
	} else if _, port, err := net.SplitHostPort(a); err == nil {
		return port
	}
	return ""
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
