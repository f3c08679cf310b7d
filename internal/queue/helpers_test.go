package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/smtpd"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/sqlite"
	"facteur.dev/facteur/internal/testutil"
)

// site is one mail domain's server: a store, a pipeline and an MX
// listener on loopback.
type site struct {
	t        *testing.T
	domain   string
	store    store.Store
	pipeline *delivery.Pipeline
	addr     string // MX listener, "" when stopped
	srv      *smtpd.Server
	gate     *gate
	tls      *tls.Config
}

func newSite(t *testing.T, domain string, users ...string) *site {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.AddDomain(ctx, domain); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := s.CreateAccount(ctx, store.Account{Address: u + "@" + domain, PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	p := delivery.New(s, nil)
	p.SetHostname("mx." + domain)
	return &site{t: t, domain: domain, store: s, pipeline: p}
}

// serveMX starts the MX listener on a free port.
func (s *site) serveMX(tlsConf *tls.Config) {
	s.t.Helper()
	l := &gate{Listener: testutil.Listen(s.t)}
	s.gate = l
	s.srv = smtpd.New(smtpd.Options{Mode: smtpd.MX, Hostname: "mx." + s.domain, Pipeline: s.pipeline, TLS: tlsConf})
	go s.srv.Serve(l)
	s.addr = l.Addr().String()
	s.t.Cleanup(func() { s.srv.Close() })
}

// stopMX makes the MX drop every connection at once, as a server that is
// down would; the port stays ours so no other test takes it.
func (s *site) stopMX()  { s.gate.down.Store(true) }
func (s *site) startMX() { s.gate.down.Store(false) }

// gate is a listener that closes connections while down.
type gate struct {
	net.Listener
	down atomic.Bool
}

func (g *gate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil || !g.down.Load() {
			return c, err
		}
		c.Close()
	}
}

func (s *site) port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// inbox returns the bodies of user's INBOX.
func (s *site) inbox(user string) []string {
	s.t.Helper()
	ctx := context.Background()
	a, err := s.store.LookupAccount(ctx, user+"@"+s.domain)
	if err != nil {
		s.t.Fatal(err)
	}
	mb, err := s.store.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		s.t.Fatal(err)
	}
	msgs, err := s.store.Messages(ctx, mb.ID, false)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		b, err := s.store.Blobs().Open(ctx, m.BlobID)
		if err != nil {
			s.t.Fatal(err)
		}
		data, _ := io.ReadAll(b)
		b.Close()
		out = append(out, string(data))
	}
	return out
}

// waitInbox waits until user's INBOX holds n messages.
func (s *site) waitInbox(user string, n int) []string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := s.inbox(user)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s@%s: %d messages in INBOX, want %d", user, s.domain, len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// send queues a message from a local user as submission would.
func (s *site) send(from string, to []string, body string, tweak func(*delivery.Envelope)) {
	s.t.Helper()
	ctx := context.Background()
	rec, err := s.pipeline.Receive(ctx, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	env := delivery.Envelope{From: from}
	for _, r := range to {
		env.Routes = append(env.Routes, delivery.Route{Recipient: r, Remote: []string{r}})
	}
	if tweak != nil {
		tweak(&env)
	}
	for _, err := range s.pipeline.Deliver(ctx, env, rec) {
		if err != nil {
			s.t.Fatal(err)
		}
	}
}

func testMessage(from, to, subject string) string {
	return "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@test>\r\n\r\nHello " + subject + "\r\n"
}

// clock is a test clock the runner reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// dnsServer serves zones on loopback.
func dnsServer(t *testing.T, zones map[string]mockdns.Zone) string {
	t.Helper()
	srv, err := mockdns.NewServerWithLogger(zones, discard{}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.LocalAddr().String()
}

type discard struct{}

func (discard) Printf(string, ...any) {}

// startRunner starts a runner for s with test-friendly options.
func (s *site) startRunner(resolver string, tweak func(*Options)) *Runner {
	s.t.Helper()
	o := Options{Hostname: "mx." + s.domain, Store: s.store, Pipeline: s.pipeline,
		Resolver: &DNSResolver{Server: resolver, Timeout: 2 * time.Second},
		Poll:     20 * time.Millisecond, Retry: []time.Duration{time.Minute, 2 * time.Minute}}
	if tweak != nil {
		tweak(&o)
	}
	r := New(o)
	if err := r.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { r.Shutdown(context.Background()) })
	return r
}

func (s *site) queue() []store.QueuedMessage {
	s.t.Helper()
	q, err := s.store.ListQueue(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return q
}

// waitQueue waits until cond holds for the queue.
func (s *site) waitQueue(what string, cond func([]store.QueuedMessage) bool) []store.QueuedMessage {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q := s.queue()
		if cond(q) {
			return q
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("queue never %s: %+v", what, q)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func bufioWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }

func listen(t *testing.T) net.Listener { return testutil.Listen(t) }

type mockdnsZone = mockdns.Zone

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
