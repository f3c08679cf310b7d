package queue

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"facteur.dev/facteur/internal/store"
)

// authSink accepts mail only after AUTH PLAIN as user/pass.
type authSink struct {
	countingSink
	authed atomic.Int64
}

func (a *authSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &authSession{countingSession: countingSession{&a.countingSink}, a: a}, nil
}

type authSession struct {
	countingSession
	a  *authSink
	ok bool
}

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "relay" || pass != "secret" {
			return errors.New("bad credentials")
		}
		s.ok = true
		s.a.authed.Add(1)
		return nil
	}), nil
}
func (s *authSession) Mail(from string, o *smtp.MailOptions) error {
	if !s.ok {
		return smtp.ErrAuthRequired
	}
	return s.countingSession.Mail(from, o)
}

// All mail goes through the smarthost, authenticated; routes still win.
func TestSmarthostWithAuth(t *testing.T) {
	t.Parallel()
	a, b, dns := twoSites(t)
	sk := &authSink{}
	srv := smtp.NewServer(sk)
	srv.Domain, srv.AllowInsecureAuth = "smarthost.test", true
	l := listen(t)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	a.startRunner(dns, func(o *Options) {
		o.Smarthost, o.SmartUser, o.SmartPass = l.Addr().String(), "relay", "secret"
		o.Routes = map[string]string{"b.test": b.addr}
	})
	a.send("alice@a.test", []string{"x@elsewhere.test"}, testMessage("alice@a.test", "x@elsewhere.test", "smart"), nil)
	a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "routed"), nil)
	b.waitInbox("bob", 1)
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	if sk.msgs.Load() != 1 || sk.authed.Load() != 1 {
		t.Fatalf("smarthost got %d messages, %d logins", sk.msgs.Load(), sk.authed.Load())
	}
}

// IPv6: an MX with only an AAAA record is reached over IPv6.
func TestIPv6MX(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	a := newSite(t, "a.test", "alice")
	sk := &countingSink{}
	srv := smtp.NewServer(sk)
	srv.Domain = "mx6.test"
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	dnsAddr := dnsServer(t, map[string]mockdnsZone{
		"v6.test.":    {MX: []net.MX{{Host: "mx.v6.test.", Pref: 10}}},
		"mx.v6.test.": {AAAA: []string{"::1"}},
	})
	a.startRunner(dnsAddr, func(o *Options) { o.Port = atoi(port) })
	a.send("alice@a.test", []string{"x@v6.test"}, testMessage("alice@a.test", "x@v6.test", "v6"), nil)
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	if sk.msgs.Load() != 1 || !strings.Contains(l.Addr().String(), "::1") {
		t.Fatalf("%d messages over IPv6", sk.msgs.Load())
	}
}

// A smarthost on implicit TLS (port 465 style) with a certificate the
// runner trusts: TLS from the first byte, then AUTH.
func TestSmarthostImplicitTLS(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	conf, pool, _ := certFor(t, "127.0.0.1")
	sk := &authSink{}
	srv := smtp.NewServer(sk)
	srv.Domain = "smarthost.test"
	l := tls.NewListener(listen(t), conf)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	a.startRunner("127.0.0.1:1", func(o *Options) {
		o.Smarthost, o.SmartUser, o.SmartPass, o.SmartTLS, o.RootCAs = l.Addr().String(), "relay", "secret", true, pool
	})
	a.send("alice@a.test", []string{"x@elsewhere.test"}, testMessage("alice@a.test", "x@elsewhere.test", "implicit"), nil)
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	if sk.msgs.Load() != 1 || sk.authed.Load() != 1 {
		t.Fatalf("smarthost got %d messages, %d logins; alice: %q", sk.msgs.Load(), sk.authed.Load(), a.inbox("alice"))
	}
}

// An implicit-TLS smarthost whose certificate is not trusted gets
// nothing: the message waits.
func TestSmarthostUntrusted(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	conf, _, _ := certFor(t, "127.0.0.1")
	sk := &authSink{}
	srv := smtp.NewServer(sk)
	l := tls.NewListener(listen(t), conf)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	a.startRunner("127.0.0.1:1", func(o *Options) {
		o.Smarthost, o.SmartUser, o.SmartPass, o.SmartTLS = l.Addr().String(), "relay", "secret", true
	})
	a.send("alice@a.test", []string{"x@elsewhere.test"}, testMessage("alice@a.test", "x@elsewhere.test", "untrusted"), nil)
	q := a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
	if !strings.Contains(q[0].LastError, "certificate not valid") || sk.authed.Load() != 0 {
		t.Fatalf("last error %q, %d logins", q[0].LastError, sk.authed.Load())
	}
}
