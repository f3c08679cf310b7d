package queue

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// tlsNeed is what a next hop requires of TLS.
type tlsNeed int

const (
	tlsOpportunistic tlsNeed = iota // STARTTLS when offered, any certificate (RFC 7435)
	tlsVerified                     // STARTTLS required, PKIX-valid for the host name
	tlsDANE                         // STARTTLS required, certificate matches TLSA (RFC 7672)
)

// hostPolicy is the TLS policy for one next hop.
type hostPolicy struct {
	need   tlsNeed
	tlsa   []*dns.TLSA
	why    string // "mta-sts", "dane", "tls_required", for errors and logs
	report bool   // MTA-STS testing: report failures but deliver anyway
}

// stsPolicy is a parsed MTA-STS policy, RFC 8461 §3.2.
type stsPolicy struct {
	ID      string
	Mode    string // enforce, testing, none
	MX      []string
	MaxAge  time.Duration
	Expires time.Time
}

// stsCache keeps fetched policies until max_age (RFC 8461 §5.1).
type stsCache struct {
	mu sync.Mutex
	m  map[string]*stsPolicy
}

// matchMX reports whether host matches a policy "mx" pattern: exact, or
// "*.example.com" matching one leftmost label (RFC 8461 §4.1).
func matchMX(pattern, host string) bool {
	pattern, host = strings.ToLower(strings.TrimSuffix(pattern, ".")), strings.ToLower(strings.TrimSuffix(host, "."))
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		_, parent, ok := strings.Cut(host, ".")
		return ok && parent == rest
	}
	return pattern == host
}

func (p *stsPolicy) allows(host string) bool {
	for _, m := range p.MX {
		if matchMX(m, host) {
			return true
		}
	}
	return false
}

// parseSTS parses a policy file (RFC 8461 §3.2).
func parseSTS(r io.Reader) (*stsPolicy, error) {
	p := &stsPolicy{}
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	version := ""
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "version":
			version = v
		case "mode":
			p.Mode = v
		case "mx":
			p.MX = append(p.MX, v)
		case "max_age":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("mta-sts: bad max_age %q", v)
			}
			p.MaxAge = time.Duration(min(n, 31557600)) * time.Second
		}
	}
	if version != "STSv1" {
		return nil, errors.New("mta-sts: not an STSv1 policy")
	}
	switch p.Mode {
	case "enforce", "testing", "none":
	default:
		return nil, fmt.Errorf("mta-sts: bad mode %q", p.Mode)
	}
	if p.Mode != "none" && len(p.MX) == 0 {
		return nil, errors.New("mta-sts: no mx")
	}
	return p, sc.Err()
}

// stsID returns the id of domain's "v=STSv1" TXT record (RFC 8461 §3.1),
// "" when there is none.
func (r *Runner) stsID(ctx context.Context, domain string) (string, error) {
	txts, err := r.opts.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		if errors.Is(err, ErrNoRecords) {
			return "", nil
		}
		return "", err
	}
	for _, t := range txts {
		if !strings.HasPrefix(t, "v=STSv1") {
			continue
		}
		for f := range strings.SplitSeq(t, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok && k == "id" {
				return v, nil
			}
		}
	}
	return "", nil
}

// sts returns domain's MTA-STS policy, from the cache when its id has not
// changed, nil when the domain has none.
func (r *Runner) sts(ctx context.Context, domain string) *stsPolicy {
	now := r.now()
	cached := r.cachedSTS(domain)
	if cached != nil && now.After(cached.Expires) {
		cached = nil
	}
	id, err := r.stsID(ctx, domain)
	if err != nil || id == "" {
		return cached // RFC 8461 §5.1: a cached policy outlives a missing record
	}
	if cached != nil && cached.ID == id {
		return cached
	}
	p, err := r.fetchSTS(ctx, domain)
	if err != nil {
		r.log.Warn("mta-sts fetch failed", "domain", domain, "err", err)
		return cached
	}
	p.ID, p.Expires = id, now.Add(p.MaxAge)
	r.storeSTS(domain, p)
	return p
}

// cachedSTS returns domain's cached policy: from memory, else from the
// cache directory, so a restart does not forget an enforce policy
// (RFC 8461 §5.1, §10.1).
func (r *Runner) cachedSTS(domain string) *stsPolicy {
	r.stsCache.mu.Lock()
	defer r.stsCache.mu.Unlock()
	if p, ok := r.stsCache.m[domain]; ok || r.opts.STSCacheDir == "" {
		return p
	}
	data, err := os.ReadFile(filepath.Join(r.opts.STSCacheDir, domain+".json"))
	if err != nil {
		return nil
	}
	p := &stsPolicy{}
	if json.Unmarshal(data, p) != nil {
		return nil
	}
	r.stsCache.m[domain] = p
	return p
}

func (r *Runner) storeSTS(domain string, p *stsPolicy) {
	r.stsCache.mu.Lock()
	defer r.stsCache.mu.Unlock()
	r.stsCache.m[domain] = p
	if r.opts.STSCacheDir == "" {
		return
	}
	data, _ := json.Marshal(p)
	tmp := filepath.Join(r.opts.STSCacheDir, domain+".json.tmp")
	if err := os.MkdirAll(r.opts.STSCacheDir, 0o700); err == nil && os.WriteFile(tmp, data, 0o600) == nil {
		os.Rename(tmp, filepath.Join(r.opts.STSCacheDir, domain+".json"))
	}
}

// fetchSTS fetches https://mta-sts.DOMAIN/.well-known/mta-sts.txt,
// following no redirects (RFC 8461 §3.3).
func (r *Runner) fetchSTS(ctx context.Context, domain string) (*stsPolicy, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "https://mta-sts."+domain+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		return nil, err
	}
	hc := *r.opts.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("mta-sts: HTTP %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		return nil, fmt.Errorf("mta-sts: content type %q", ct)
	}
	return parseSTS(resp.Body)
}

// policyFor decides the TLS policy of host h for domain, given the
// domain's MTA-STS policy (nil for none). ok is false when MTA-STS
// enforce forbids the host.
func (r *Runner) policyFor(ctx context.Context, domain string, h mxHost, sts *stsPolicy) (hostPolicy, bool) {
	if h.Secure {
		name := fmt.Sprintf("_%d._tcp.%s", h.Port, h.Name)
		recs, secure, err := r.opts.Resolver.LookupTLSA(ctx, name)
		if err == nil && secure && len(usableTLSA(recs)) > 0 {
			return hostPolicy{need: tlsDANE, tlsa: usableTLSA(recs), why: "dane"}, true
		}
	}
	if !h.Route {
		if sts != nil && sts.Mode == "enforce" {
			if !sts.allows(h.Name) {
				return hostPolicy{}, false
			}
			return hostPolicy{need: tlsVerified, why: "mta-sts"}, true
		}
		if sts != nil && sts.Mode == "testing" {
			return hostPolicy{need: tlsOpportunistic, why: "mta-sts testing", report: true}, true
		}
	}
	if r.opts.RequireTLS[strings.ToLower(domain)] {
		return hostPolicy{need: tlsVerified, why: "tls_required"}, true
	}
	if h.Smart && (r.opts.SmartTLS || (r.opts.SmartUser != "" && !isLoopback(h.Name))) {
		// A password, or a relay asked to be TLS, goes only to the
		// smarthost whose certificate proves its name.
		return hostPolicy{need: tlsVerified, why: "smarthost"}, true
	}
	return hostPolicy{need: tlsOpportunistic}, true
}

func isLoopback(host string) bool {
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || (err == nil && ip.IsLoopback())
}

// usableTLSA keeps DANE-TA(2) and DANE-EE(3) records, the only usages for
// SMTP (RFC 7672 §3.1.3).
func usableTLSA(recs []*dns.TLSA) []*dns.TLSA {
	var out []*dns.TLSA
	for _, t := range recs {
		if (t.Usage == 2 || t.Usage == 3) && t.Selector <= 1 && t.MatchingType <= 2 {
			out = append(out, t)
		}
	}
	return out
}

// tlsaMatches reports whether cert matches t's selector and matching type.
func tlsaMatches(t *dns.TLSA, cert *x509.Certificate) bool {
	data := cert.Raw
	if t.Selector == 1 {
		data = cert.RawSubjectPublicKeyInfo
	}
	var sum []byte
	switch t.MatchingType {
	case 0:
		sum = data
	case 1:
		h := sha256.Sum256(data)
		sum = h[:]
	case 2:
		h := sha512.Sum512(data)
		sum = h[:]
	}
	want, err := hexBytes(t.Certificate)
	return err == nil && subtle.ConstantTimeCompare(sum, want) == 1
}

func hexBytes(s string) ([]byte, error) {
	out := make([]byte, len(s)/2)
	for i := range out {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, err
		}
		out[i] = byte(v)
	}
	return out, nil
}

// verifyDANE checks a peer chain against TLSA records: DANE-EE matches the
// leaf (no name or expiry check, RFC 7672 §3.1.1); DANE-TA matches a
// chain certificate that then anchors a chain valid for host.
func verifyDANE(recs []*dns.TLSA, chain []*x509.Certificate, host string) bool {
	if len(chain) == 0 {
		return false
	}
	for _, t := range recs {
		if t.Usage == 3 && tlsaMatches(t, chain[0]) {
			return true
		}
		if t.Usage != 2 {
			continue
		}
		for _, ca := range chain[1:] {
			if !tlsaMatches(t, ca) {
				continue
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca)
			inter := x509.NewCertPool()
			for _, c := range chain[1:] {
				inter.AddCert(c)
			}
			if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}); err == nil {
				return true
			}
		}
	}
	return false
}

// verifyPKIX checks the chain against the configured roots for host.
func (r *Runner) verifyPKIX(chain []*x509.Certificate, host string) error {
	if len(chain) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{DNSName: host, Roots: r.opts.RootCAs, Intermediates: inter})
	return err
}

// tlsConfig is the client TLS configuration for host: certificates are
// checked after the handshake, against the host's policy.
func (r *Runner) tlsConfig(host string) *tls.Config {
	return &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
}
