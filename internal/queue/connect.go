package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// connect opens a session with the first next hop that takes one under
// its TLS policy, trying every address of every host in order.
func (r *Runner) connect(ctx context.Context, d *destination) (*client, error) {
	var last error
	domain := d.domain
	for _, h := range d.hops {
		pol, ok := r.policyFor(ctx, domain, h, d.sts)
		if d.waived {
			pol, ok = hostPolicy{need: tlsOpportunistic, why: "TLS-Required: No"}, true
		}
		if !ok {
			last = temporary(451, "4.7.5", fmt.Sprintf("MTA-STS policy of %s does not list MX %s", domain, h.Name))
			continue
		}
		addrs, err := r.addrs(ctx, h)
		if err != nil {
			last = temporary(451, "4.4.4", fmt.Sprintf("no address for %s: %v", h.Name, err))
			if h.Implicit && errors.Is(err, ErrNoRecords) {
				last = errNoHost // no MX and no address: nowhere to deliver
			}
			continue
		}
		for _, a := range addrs {
			cl, err := r.session(ctx, a, h, pol)
			if err == nil {
				return cl, nil
			}
			r.log.Info("next hop failed", "domain", domain, "host", h.Name, "addr", a, "err", err)
			last = err
		}
	}
	if last == nil {
		last = errNoHost
	}
	return nil, last
}

// session dials addr, says EHLO and applies pol: STARTTLS when offered
// (required unless opportunistic), then the certificate check.
func (r *Runner) session(ctx context.Context, addr string, h mxHost, pol hostPolicy) (*client, error) {
	cl, err := r.open(ctx, addr, h)
	if err != nil {
		return nil, err
	}
	if cl.tls { // implicit TLS
		return r.checkTLS(cl, h, pol)
	}
	if !cl.has("STARTTLS") {
		if pol.need != tlsOpportunistic {
			cl.quit()
			return nil, temporary(451, "4.7.5", fmt.Sprintf("%s does not offer STARTTLS, required by %s", cl.remote(), pol.why))
		}
		if pol.report {
			r.log.Warn("mta-sts testing: no STARTTLS", "host", h.Name)
		}
		return r.login(cl, h)
	}
	if err := cl.startTLS(r.opts.Hostname, r.tlsConfig(h.Name)); err != nil {
		cl.quit()
		if pol.need == tlsOpportunistic {
			// RFC 7435: a failed opportunistic handshake falls back to
			// plaintext on a new connection.
			return r.plaintext(ctx, addr, h)
		}
		return nil, temporary(451, "4.7.5", err.Error())
	}
	return r.checkTLS(cl, h, pol)
}

// checkTLS verifies the server's certificate as pol asks, then logs in.
func (r *Runner) checkTLS(cl *client, h mxHost, pol hostPolicy) (*client, error) {
	chain := cl.conn.(*tls.Conn).ConnectionState().PeerCertificates
	switch pol.need {
	case tlsDANE:
		cl.verified = verifyDANE(pol.tlsa, chain, h.Name)
	default:
		cl.verified = r.verifyPKIX(chain, h.Name) == nil
	}
	if !cl.verified && pol.need != tlsOpportunistic {
		cl.quit()
		return nil, temporary(451, "4.7.5", fmt.Sprintf("%s: certificate not valid for %s (%s)", cl.remote(), h.Name, pol.why))
	}
	if !cl.verified && pol.report {
		r.log.Warn("mta-sts testing: certificate not valid", "host", h.Name)
	}
	cl.trusted = h.Route || h.Secure || pol.why == "mta-sts" || pol.why == "mta-sts testing"
	return r.login(cl, h)
}

// open dials addr (with TLS at once for an implicit-TLS smarthost) and
// says EHLO.
func (r *Runner) open(ctx context.Context, addr string, h mxHost) (*client, error) {
	var tlsConf *tls.Config
	if h.Smart && r.opts.SmartTLS {
		tlsConf = r.tlsConfig(h.Name)
	}
	cl, err := dial(ctx, addr, h, r.opts.Timeouts, tlsConf)
	if err != nil {
		return nil, err
	}
	if err := cl.ehlo(r.opts.Hostname); err != nil {
		cl.quit()
		return nil, err
	}
	return cl, nil
}

// plaintext reconnects without STARTTLS.
func (r *Runner) plaintext(ctx context.Context, addr string, h mxHost) (*client, error) {
	cl, err := r.open(ctx, addr, h)
	if err != nil {
		return nil, err
	}
	delete(cl.ext, "STARTTLS")
	return r.login(cl, h)
}

// login authenticates to the smarthost when credentials are set: only
// over TLS, or to a loopback address, so a password never crosses a
// network in the clear.
func (r *Runner) login(cl *client, h mxHost) (*client, error) {
	if r.opts.SmartUser == "" || !h.Smart {
		return cl, nil
	}
	if ip, err := netip.ParseAddrPort(cl.addr); !cl.tls && (err != nil || !ip.Addr().IsLoopback()) {
		cl.quit()
		return nil, temporary(451, "4.7.0", "smarthost "+cl.remote()+" offers no STARTTLS: credentials not sent")
	}
	if err := cl.auth(r.opts.SmartUser, r.opts.SmartPass); err != nil {
		cl.quit()
		return nil, err
	}
	return cl, nil
}

// connPool keeps idle sessions per domain for the next job.
type connPool struct {
	mu sync.Mutex
	m  map[string][]*client
}

func (p *connPool) get(domain string) *client {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.m[domain]
	if len(cs) == 0 {
		return nil
	}
	c := cs[len(cs)-1]
	p.m[domain] = cs[:len(cs)-1]
	return c
}

func (p *connPool) put(domain string, c *client) {
	c.idle = time.Now()
	p.mu.Lock()
	p.m[domain] = append(p.m[domain], c)
	p.mu.Unlock()
}

// expire closes sessions idle longer than d.
func (p *connPool) expire(d time.Duration) {
	p.mu.Lock()
	var old []*client
	for k, cs := range p.m {
		keep := cs[:0]
		for _, c := range cs {
			if time.Since(c.idle) > d {
				old = append(old, c)
			} else {
				keep = append(keep, c)
			}
		}
		p.m[k] = keep
	}
	p.mu.Unlock()
	for _, c := range old {
		c.quit()
	}
}

func (p *connPool) closeAll() { p.expire(-1) }
