package queue

import (
	"context"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"facteur.dev/facteur/internal/store"
)

// pickySink answers 451 to recipients in later (while it is set) and
// records every accepted recipient and reverse-path.
type pickySink struct {
	mu    sync.Mutex
	later map[string]bool
	rcpts []string
	froms []string
}

func (p *pickySink) NewSession(*smtp.Conn) (smtp.Session, error) { return &pickySession{p: p}, nil }

type pickySession struct {
	p     *pickySink
	rcpts []string
	from  string
}

func (s *pickySession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *pickySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.later[to] {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "Try later"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *pickySession) Reset()        { s.rcpts = nil }
func (s *pickySession) Logout() error { return nil }
func (s *pickySession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	s.p.mu.Lock()
	s.p.rcpts = append(s.p.rcpts, s.rcpts...)
	s.p.froms = append(s.p.froms, s.from)
	s.p.mu.Unlock()
	return nil
}

func (p *pickySink) got() ([]string, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rcpts...), append([]string(nil), p.froms...)
}

func startPicky(t *testing.T, later ...string) (*pickySink, string) {
	p := &pickySink{later: map[string]bool{}}
	for _, l := range later {
		p.later[l] = true
	}
	srv := smtp.NewServer(p)
	srv.Domain = "picky.test"
	l := listen(t)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p, l.Addr().String()
}

// Per-recipient state survives a restart: after one recipient was
// delivered and one deferred, a new runner over the same store sends only
// the deferred one.
func TestRestartResumesPerRecipient(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	sink, addr := startPicky(t, "later@c.test")
	routes := map[string]string{"c.test": addr}
	r1 := a.startRunner("127.0.0.1:1", func(o *Options) { o.Routes = routes })
	a.send("alice@a.test", []string{"now@c.test", "later@c.test"}, testMessage("alice@a.test", "now@c.test", "restart"), nil)
	q := a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
	if q[0].Status[0].State != store.RcptDelivered || q[0].Status[1].State != store.RcptPending ||
		!strings.Contains(q[0].Status[1].Reply, "451 4.2.0") {
		t.Fatalf("after the first attempt: %+v", q[0].Status)
	}
	r1.Shutdown(context.Background())

	sink.mu.Lock()
	sink.later = nil
	sink.mu.Unlock()
	r2 := a.startRunner("127.0.0.1:1", func(o *Options) { o.Routes = routes })
	if _, err := a.store.FlushQueue(context.Background(), 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	r2.Kick()
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	if rcpts, _ := sink.got(); strings.Join(rcpts, ",") != "now@c.test,later@c.test" {
		t.Fatalf("recipients sent: %v", rcpts)
	}
}

// A bounce for a remote sender is queued with the null sender and sent
// to the sender's domain.
func TestBounceToRemoteSender(t *testing.T) {
	t.Parallel()
	a, _, dns := twoSites(t)
	sink, addr := startPicky(t)
	a.startRunner(dns, func(o *Options) { o.Routes = map[string]string{"c.test": addr} })
	a.send("x@c.test", []string{"y@null.test"}, testMessage("x@c.test", "y@null.test", "forwarded"), nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rcpts, froms := sink.got()
		if len(rcpts) == 1 {
			if rcpts[0] != "x@c.test" || froms[0] != "" {
				t.Fatalf("bounce sent to %v from %q", rcpts, froms)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no bounce reached the remote sender")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With delay_warning set, the sender hears once that the message is late.
func TestDelayWarning(t *testing.T) {
	t.Parallel()
	a, b, dns := twoSites(t)
	b.stopMX()
	clk := &clock{t: time.Now()}
	r := a.startRunner(dns, func(o *Options) { o.Port, o.Now, o.DelayWarning = b.port(), clk.Now, time.Hour })
	a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "late"), nil)
	a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
	if got := a.inbox("alice"); len(got) != 0 {
		t.Fatalf("warned too early: %q", got)
	}
	clk.Add(2 * time.Hour)
	if _, err := a.store.FlushQueue(context.Background(), 0, clk.Now()); err != nil {
		t.Fatal(err)
	}
	r.Kick()
	dsn := a.waitInbox("alice", 1)[0]
	if !strings.Contains(dsn, "Action: delayed") || !strings.Contains(dsn, "Will-Retry-Until:") {
		t.Fatalf("delay DSN:\n%s", dsn)
	}
	q := a.waitQueue("warned", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Warned })
	if q[0].Attempts != 2 {
		t.Fatalf("entry %+v", q[0])
	}
}

// After max_age the sender gets a failure naming the last reply.
func TestGiveUpAfterMaxAge(t *testing.T) {
	t.Parallel()
	a, b, dns := twoSites(t)
	b.stopMX()
	clk := &clock{t: time.Now()}
	r := a.startRunner(dns, func(o *Options) { o.Port, o.Now, o.MaxAge = b.port(), clk.Now, 24*time.Hour })
	a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "old"), nil)
	a.waitQueue("deferred", func(q []store.QueuedMessage) bool { return len(q) == 1 && q[0].Attempts == 1 })
	clk.Add(25 * time.Hour)
	r.Kick()
	dsn := a.waitInbox("alice", 1)[0]
	if !strings.Contains(dsn, "Action: failed") || !strings.Contains(dsn, "gave up after") {
		t.Fatalf("DSN:\n%s", dsn)
	}
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
}

// slowSink takes 80 ms per message.
type slowSink struct{ countingSink }

func (s *slowSink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s.sessions.Add(1)
	return &slowSession{countingSession{&s.countingSink}}, nil
}

type slowSession struct{ countingSession }

func (s *slowSession) Data(r io.Reader) error {
	time.Sleep(80 * time.Millisecond)
	return s.countingSession.Data(r)
}

// A job that outlasts half its lease hands its remaining entries back:
// each message is still sent exactly once.
func TestSlowJobReleasesEntries(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	sk := &slowSink{}
	addr := serveSlow(t, a, sk, 40)
	a.startRunner("127.0.0.1:1", func(o *Options) {
		o.Routes, o.PerDomain, o.Workers, o.Lease = map[string]string{"slow.test": addr}, 1, 1, 2*time.Second
	})
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	if sk.msgs.Load() != 40 {
		t.Fatalf("%d messages sent for 40", sk.msgs.Load())
	}
}

// Shutdown does not wait for a silent server's timeouts once its grace
// period is over.
func TestShutdownAbortsHungSession(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	l := listen(t) // accepts and never says a word
	accepted := make(chan struct{}, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			accepted <- struct{}{}
		}
	}()
	t.Cleanup(func() { l.Close() })
	a.send("alice@a.test", []string{"x@silent.test"}, testMessage("alice@a.test", "x@silent.test", "hang"), nil)
	r := a.startRunner("127.0.0.1:1", func(o *Options) { o.Routes = map[string]string{"silent.test": l.Addr().String()} })
	<-accepted // the worker now waits for a greeting
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r.Shutdown(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
}

// A slow domain using all its connections does not hold the workers:
// mail for another domain goes out meanwhile.
func TestSlowDomainDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	slow := &slowSink{}
	ssrv := smtp.NewServer(slow)
	sl := listen(t)
	go ssrv.Serve(sl)
	t.Cleanup(func() { ssrv.Close() })
	fast, faddr := startSink(t, nil)
	r := a.startRunner("127.0.0.1:1", func(o *Options) {
		o.Routes = map[string]string{"slow.test": sl.Addr().String(), "fast.test": faddr}
		o.PerDomain, o.Workers = 1, 2
	})
	// Two rounds of slow mail: two jobs for a domain with one connection.
	for round := range 2 {
		for i := range 15 {
			to := "u" + strconv.Itoa(round*100+i) + "@slow.test"
			a.send("alice@a.test", []string{to}, testMessage("alice@a.test", to, "slow"), nil)
		}
		r.Kick()
		for slow.sessions.Load() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(50 * time.Millisecond) // the second slow job reaches a worker
	a.send("alice@a.test", []string{"x@fast.test"}, testMessage("alice@a.test", "x@fast.test", "fast"), nil)
	r.Kick()
	deadline := time.Now().Add(10 * time.Second)
	for fast.msgs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := slow.msgs.Load(); fast.msgs.Load() != 1 || n >= 12 { // before the first slow job (15 messages) ends
		t.Fatalf("fast delivered %d after %d slow messages", fast.msgs.Load(), n)
	}
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
}

// failOnceSink defers the first RCPT to u0 (451) and takes 150 ms per
// message, so the job is still busy with the others when u0's retry is
// due.
type failOnceSink struct {
	slowSink
	failed atomic.Bool
}

func (s *failOnceSink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s.sessions.Add(1)
	return &failOnceSession{slowSession{countingSession{&s.countingSink}}, s}, nil
}

type failOnceSession struct {
	slowSession
	s *failOnceSink
}

func (f *failOnceSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "u0@") && f.s.failed.CompareAndSwap(false, true) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again"}
	}
	return nil
}

// An entry deferred (or handed back) while its job still sends the
// others is due again before the job ends: claimed then, it must not sit
// out a full lease (30 minutes) because the job still had it in hand.
func TestRetryDueDuringJobNotLeased(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	sk := &failOnceSink{}
	addr := serveSlow(t, a, sk, 6)
	a.startRunner("127.0.0.1:1", func(o *Options) {
		o.Routes, o.PerDomain, o.Workers = map[string]string{"slow.test": addr}, 1, 1
		o.Retry = []time.Duration{time.Millisecond}
	})
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	if !sk.failed.Load() || sk.msgs.Load() != 6 {
		t.Fatalf("%d messages sent for 6 (deferred once: %v)", sk.msgs.Load(), sk.failed.Load())
	}
}

// serveSlow starts sink as slow.test's server and queues n messages at a
// for u0@slow.test, u1@slow.test…; it returns the sink's address.
func serveSlow(t *testing.T, a *site, sink smtp.Backend, n int) string {
	srv := smtp.NewServer(sink)
	srv.Domain = "slow.test"
	l := listen(t)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	for i := range n {
		to := "u" + strconv.Itoa(i) + "@slow.test"
		a.send("alice@a.test", []string{to}, testMessage("alice@a.test", to, "slow"), nil)
	}
	return l.Addr().String()
}
