package queue

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/testutil"
)

// fakeResolver answers from maps.
type fakeResolver struct {
	mx  map[string][]*net.MX
	err map[string]error
}

func (f fakeResolver) LookupMX(_ context.Context, d string) ([]*net.MX, bool, error) {
	if err := f.err[d]; err != nil {
		return nil, false, err
	}
	var out []*net.MX
	for _, m := range f.mx[d] {
		c := *m
		out = append(out, &c)
	}
	return out, false, nil
}
func (fakeResolver) LookupIP(context.Context, string) ([]netip.Addr, error) { return nil, ErrNoRecords }
func (fakeResolver) LookupTXT(context.Context, string) ([]string, error)    { return nil, ErrNoRecords }
func (fakeResolver) LookupTLSA(context.Context, string) ([]*dns.TLSA, bool, error) {
	return nil, false, ErrNoRecords
}

// RFC 5321 §5.1: by preference, equal preferences in random order; no MX
// means the domain itself; NXDOMAIN and null MX are permanent.
func TestHops(t *testing.T) {
	r := New(Options{Resolver: fakeResolver{
		mx: map[string][]*net.MX{
			"x.test":           {{Host: "c.x.test.", Pref: 20}, {Host: "a.x.test.", Pref: 10}, {Host: "b.x.test.", Pref: 10}},
			"null.test":        {{Host: ".", Pref: 0}},
			"xn--caf-dma.test": {{Host: "mx.xn--caf-dma.test.", Pref: 10}},
		},
		err: map[string]error{"none.test": ErrNoRecords, "nx.test": ErrNXDomain, "tmp.test": fmt.Errorf("SERVFAIL")},
	}})
	seen := map[string]bool{}
	for range 50 {
		h, err := r.hops(context.Background(), "x.test")
		if err != nil || len(h) != 3 || h[2].Name != "c.x.test" || h[0].Port != 25 {
			t.Fatalf("hops %+v %v", h, err)
		}
		seen[h[0].Name] = true
	}
	if !seen["a.x.test"] || !seen["b.x.test"] {
		t.Errorf("equal preferences not shuffled: %v", seen)
	}
	if h, err := r.hops(context.Background(), "café.test"); err != nil || len(h) != 1 || h[0].Name != "mx.xn--caf-dma.test" {
		t.Errorf("IDN domain: %+v %v", h, err)
	}
	if h, err := r.hops(context.Background(), "none.test"); err != nil || len(h) != 1 || h[0].Name != "none.test" {
		t.Errorf("implicit MX: %+v %v", h, err)
	}
	for d, want := range map[string]string{"nx.test": "550 5.1.2", "null.test": "556 5.1.10", "tmp.test": "451 4.4.3"} {
		if _, err := r.hops(context.Background(), d); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %s", d, err, want)
		}
	}
}

// countingSink is a go-smtp server counting sessions and messages.
type countingSink struct {
	sessions, msgs atomic.Int64
	mu             sync.Mutex
	mailParams     []string
}

func (s *countingSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	s.sessions.Add(1)
	return &countingSession{s}, nil
}

type countingSession struct{ s *countingSink }

func (c *countingSession) Mail(from string, o *smtp.MailOptions) error {
	c.s.mu.Lock()
	c.s.mailParams = append(c.s.mailParams, fmt.Sprintf("%s utf8=%v body=%s", from, o.UTF8, o.Body))
	c.s.mu.Unlock()
	return nil
}
func (c *countingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (c *countingSession) Reset()                               {}
func (c *countingSession) Logout() error                        { return nil }
func (c *countingSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	c.s.msgs.Add(1)
	return nil
}

func startSink(t *testing.T, tweak func(*smtp.Server)) (*countingSink, string) {
	sk := &countingSink{}
	srv := smtp.NewServer(sk)
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = true
	if tweak != nil {
		tweak(srv)
	}
	l := testutil.Listen(t)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sk, l.Addr().String()
}

// Many messages for one host share few connections (reuse), and all
// arrive.
func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	sk, addr := startSink(t, nil)
	for i := range 60 {
		a.send("alice@a.test", []string{fmt.Sprintf("u%d@sink.test", i)}, testMessage("alice@a.test", "u@sink.test", "reuse"), nil)
	}
	a.startRunner("127.0.0.1:1", func(o *Options) { o.Routes = map[string]string{"sink.test": addr}; o.PerDomain = 2 })
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	if sk.msgs.Load() != 60 || sk.sessions.Load() > 4 {
		t.Fatalf("%d messages over %d sessions", sk.msgs.Load(), sk.sessions.Load())
	}
}

// A message that needs SMTPUTF8 is not sent to a server without it; BODY
// and SMTPUTF8 are passed on to one that has them.
func TestSMTPUTF8And8BitMIME(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	plainSink, plain := startSink(t, func(s *smtp.Server) { s.EnableSMTPUTF8 = false })
	full, utf := startSink(t, func(s *smtp.Server) { s.EnableSMTPUTF8 = true })
	a.startRunner("127.0.0.1:1", func(o *Options) {
		o.Routes = map[string]string{"plain.test": plain, "utf.test": utf}
	})
	needs := func(e *delivery.Envelope) { e.SMTPUTF8, e.Body8Bit = true, true }
	utf8Msg := strings.Replace(testMessage("alice@a.test", "x@plain.test", "utf8"), "Subject: utf8", "Subject: café", 1)
	a.send("alice@a.test", []string{"x@plain.test"}, utf8Msg, needs)
	a.send("alice@a.test", []string{"x@utf.test"}, utf8Msg, needs)
	// Flagged by an eager client but plain ASCII: sent without the parameters.
	a.send("alice@a.test", []string{"y@plain.test"}, testMessage("alice@a.test", "y@plain.test", "ascii"), needs)
	dsn := a.waitInbox("alice", 1)[0]
	if !strings.Contains(dsn, "Status: 5.6.7") || !strings.Contains(dsn, "x@plain.test") || strings.Contains(dsn, "y@plain.test") {
		t.Fatalf("DSN:\n%s", dsn)
	}
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	full.mu.Lock()
	defer full.mu.Unlock()
	if len(full.mailParams) != 1 || full.mailParams[0] != "alice@a.test utf8=true body=8BITMIME" {
		t.Fatalf("MAIL at the SMTPUTF8 server: %q", full.mailParams)
	}
	plainSink.mu.Lock()
	defer plainSink.mu.Unlock()
	if len(plainSink.mailParams) != 1 || plainSink.mailParams[0] != "alice@a.test utf8=false body=8BITMIME" {
		t.Fatalf("MAIL at the plain server: %q", plainSink.mailParams)
	}
}

// has8Bit reads the header only, or the whole message.
func TestHas8Bit(t *testing.T) {
	for _, tc := range []struct {
		msg           string
		header, whole bool
	}{
		{"Subject: a\r\n\r\nbody\r\n", false, false},
		{"Subject: a\r\n\r\nbödy\r\n", false, true},
		{"Subject: ä\r\n\r\nbody\r\n", true, true},
		{"Subject: " + strings.Repeat("x", 5000) + "é\r\n\r\n", true, true},
	} {
		b := memBlob{strings.NewReader(tc.msg)}
		if got := has8Bit(b, true); got != tc.header {
			t.Errorf("header of %.20q: %v", tc.msg, got)
		}
		if got := has8Bit(b, false); got != tc.whole {
			t.Errorf("whole %.20q: %v", tc.msg, got)
		}
	}
}

type memBlob struct{ *strings.Reader }

func (memBlob) Close() error { return nil }

// REQUIRETLS (RFC 8689) mail is not sent without verified TLS: it bounces
// with 5.7.10.
func TestRequireTLSBounces(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	sk, addr := startSink(t, nil)
	a.startRunner("127.0.0.1:1", func(o *Options) { o.Routes = map[string]string{"sink.test": addr} })
	a.send("alice@a.test", []string{"x@sink.test"}, testMessage("alice@a.test", "x@sink.test", "reqtls"),
		func(e *delivery.Envelope) { e.RequireTLS = true })
	dsn := a.waitInbox("alice", 1)[0]
	if !strings.Contains(dsn, "Status: 5.7.10") || sk.msgs.Load() != 0 {
		t.Fatalf("sent %d; DSN:\n%s", sk.msgs.Load(), dsn)
	}
}

func TestDotWriter(t *testing.T) {
	var b strings.Builder
	bw := bufioWriter(&b)
	dw := &dotWriter{w: bw, bol: true}
	io.WriteString(dw, ".leading\nbare lf\r\n..two\r\nno end")
	dw.Close()
	bw.Flush()
	want := "..leading\r\nbare lf\r\n...two\r\nno end\r\n.\r\n"
	if b.String() != want {
		t.Fatalf("%q, want %q", b.String(), want)
	}
}

// SIZE is checked before sending: a message over the server's limit
// bounces at once (552 5.3.4) and is never transmitted.
func TestSizeCheckedFirst(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	sk, addr := startSink(t, func(s *smtp.Server) { s.MaxMessageBytes = 100 })
	a.startRunner("127.0.0.1:1", func(o *Options) { o.Routes = map[string]string{"sink.test": addr} })
	a.send("alice@a.test", []string{"x@sink.test"}, testMessage("alice@a.test", "x@sink.test", strings.Repeat("big", 50)), nil)
	dsn := a.waitInbox("alice", 1)[0]
	if !strings.Contains(dsn, "Status: 5.3.4") || sk.msgs.Load() != 0 {
		t.Fatalf("sent %d; DSN:\n%s", sk.msgs.Load(), dsn)
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if len(sk.mailParams) != 0 {
		t.Fatalf("MAIL sent: %q", sk.mailParams)
	}
}

func TestNewResolver(t *testing.T) {
	if r := NewResolver("10.0.0.1:5353"); r.Server != "10.0.0.1:5353" {
		t.Fatal(r.Server)
	}
	if r := NewResolver(""); r.Server == "" {
		t.Fatal("no system resolver address")
	}
}

func TestHasBareLineEnd(t *testing.T) {
	for msg, want := range map[string]bool{
		"a\r\nb\r\n": false, "a\nb\r\n": true, "a\r\nb\rc\r\n": true, "a\r\nb\r": true, "": false,
		strings.Repeat("x", 40000) + "\r\n" + strings.Repeat("y", 40000) + "\n": true,
	} {
		if got := hasBareLineEnd(memBlob{strings.NewReader(msg)}); got != want {
			t.Errorf("%.30q: %v", msg, got)
		}
	}
}
