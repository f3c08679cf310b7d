// Package queue is Facteur's outbound MTA: workers that claim due entries
// from the store's durable queue, find the next hops (routes, smarthost,
// or MX per RFC 5321 §5.1), apply the TLS policy (MTA-STS, DANE,
// REQUIRETLS, per-domain required TLS), speak SMTP with our own client
// (STARTTLS, PIPELINING, CHUNKING, SIZE, 8BITMIME, SMTPUTF8, DSN),
// retry with backoff and send DSNs (RFC 3464) on final failure.
//
// Each entry is one message for one destination domain; per-recipient
// state lives in the entry, so a restart resumes where it stopped.
package queue

import (
	"bufio"
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/store"
)

// DefaultRetry is the backoff after each failed attempt; the last step
// repeats until MaxAge.
var DefaultRetry = []time.Duration{5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
	2 * time.Hour, 4 * time.Hour}

// Options configure the runner. Zero values take defaults.
type Options struct {
	Hostname   string // said in EHLO and DSNs
	Store      store.Store
	Pipeline   *delivery.Pipeline // DSNs go through it
	Resolver   Resolver
	Port       int               // destination port for MX hosts (25)
	Smarthost  string            // host:port for all mail, "" for none
	SmartUser  string            // AUTH PLAIN to the smarthost, "" for none
	SmartPass  string            //
	SmartTLS   bool              // the smarthost speaks TLS from the start (port 465)
	Routes     map[string]string // recipient domain → host:port
	RequireTLS map[string]bool   // domains that need verified TLS
	Retry      []time.Duration
	MaxAge     time.Duration // give up after (5 days)
	// DelayWarning sends a "delayed" DSN once an entry is this old; 0 = never.
	DelayWarning time.Duration
	Workers      int // concurrent connections (32)
	PerDomain    int // concurrent connections per destination domain (8)
	Lease        time.Duration
	Poll         time.Duration // how often due entries are looked for (1s)
	RootCAs      *x509.CertPool
	HTTPClient   *http.Client // MTA-STS policy fetches
	STSCacheDir  string       // MTA-STS policies kept across restarts, "" for memory only
	Timeouts     Timeouts
	Now          func() time.Time
	Log          *slog.Logger
}

// Runner delivers the outbound queue.
type Runner struct {
	opts     Options
	log      *slog.Logger
	kick     chan struct{}
	jobs     chan job
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	inflight atomic.Int64
	removed  atomic.Int64 // entries done and removed, for Removed
	active   sync.Map     // IDs of entries in this runner's hands
	stsCache stsCache
	pool     connPool
	domains  sync.Map // domain → *domainState
	ctx      context.Context
	cancel   context.CancelFunc
}

// job is a run of entries for one domain, sent over one connection.
type job struct {
	domain  string
	entries []store.QueuedMessage
}

const chunk = 25 // entries per job

// New returns a runner; call Start.
func New(o Options) *Runner {
	if o.Port == 0 {
		o.Port = 25
	}
	if len(o.Retry) == 0 {
		o.Retry = DefaultRetry
	}
	if o.MaxAge == 0 {
		o.MaxAge = 5 * 24 * time.Hour
	}
	if o.Workers == 0 {
		o.Workers = 32
	}
	if o.PerDomain == 0 {
		o.PerDomain = 8
	}
	if o.Lease == 0 {
		o.Lease = 30 * time.Minute
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Timeouts == (Timeouts{}) {
		o.Timeouts = DefaultTimeouts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{opts: o, log: o.Log, kick: make(chan struct{}, 1), jobs: make(chan job, 4*o.Workers),
		stop: make(chan struct{}), stsCache: stsCache{m: map[string]*stsPolicy{}},
		pool: connPool{m: map[string][]*client{}}, ctx: ctx, cancel: cancel}
}

func (r *Runner) now() time.Time { return r.opts.Now() }

// Start releases leases left by a previous run (one node owns the
// queue) and starts the dispatcher and workers.
func (r *Runner) Start() error {
	if err := r.opts.Store.ReleaseClaims(r.ctx); err != nil {
		return err
	}
	for range r.opts.Workers {
		r.wg.Add(1)
		go r.worker()
	}
	r.wg.Add(1)
	go r.loop()
	return nil
}

// Removed returns how many entries this runner has finished (every
// recipient delivered or failed) and removed from the queue.
func (r *Runner) Removed() int64 { return r.removed.Load() }

// Kick asks the dispatcher to look for due entries now.
func (r *Runner) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Shutdown stops claiming, lets running deliveries end until ctx ends,
// then aborts them (their entries are retried after the restart).
func (r *Runner) Shutdown(ctx context.Context) error {
	r.stopOnce.Do(func() { close(r.stop) })
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.cancel()
		<-done
	}
	r.cancel()
	r.pool.closeAll()
	return nil
}

func (r *Runner) loop() {
	defer r.wg.Done()
	defer close(r.jobs)
	t := time.NewTicker(r.opts.Poll)
	defer t.Stop()
	for {
		full := r.dispatch()
		if full {
			select {
			case <-r.stop:
				return
			default:
				continue
			}
		}
		select {
		case <-r.stop:
			return
		case <-r.kick:
		case <-t.C:
			r.pool.expire(10 * time.Second)
		}
	}
}

// maxInflight bounds claimed entries not yet settled.
func (r *Runner) maxInflight() int64 { return int64(r.opts.Workers * chunk * 2) }

// dispatch claims due entries and hands them to workers by domain. It
// reports whether it claimed a full batch (more may be due).
func (r *Runner) dispatch() bool {
	free := r.maxInflight() - r.inflight.Load()
	if free <= 0 {
		return false
	}
	now := r.now()
	entries, err := r.opts.Store.ClaimQueued(r.ctx, now, now.Add(r.opts.Lease), int(free))
	if err != nil {
		r.log.Error("queue claim failed", "err", err)
		return false
	}
	claimed := len(entries)
	byDomain := map[string][]store.QueuedMessage{}
	var order []string
	for _, e := range entries {
		if _, busy := r.active.LoadOrStore(e.ID, true); busy {
			// Its lease ran out in a slow or parked job, which still
			// holds it: that job's settle or handBack ends this lease too,
			// since an entry leaves r.active before its lease is ended.
			continue
		}
		d := strings.ToLower(e.Domain)
		if _, ok := byDomain[d]; !ok {
			order = append(order, d)
		}
		byDomain[d] = append(byDomain[d], e)
	}
	for _, d := range order {
		r.inflight.Add(int64(len(byDomain[d])))
	}
	for _, d := range order {
		es := byDomain[d]
		// Spread a domain's entries over its connections.
		n := min(r.opts.PerDomain, (len(es)+chunk-1)/chunk)
		if n < 1 {
			n = 1
		}
		per := (len(es) + n - 1) / n
		for i := 0; i < len(es); i += per {
			select {
			case r.jobs <- job{domain: d, entries: es[i:min(i+per, len(es))]}:
			case <-r.stop:
				return false
			}
		}
	}
	return int64(claimed) == free
}

func (r *Runner) worker() {
	defer r.wg.Done()
	for j := range r.jobs {
		r.run(j)
	}
}

func (r *Runner) stopping() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// domainState counts a domain's connections; jobs beyond PerDomain wait
// in its list instead of holding a worker, so one slow domain never
// keeps the others waiting.
type domainState struct {
	mu      sync.Mutex
	active  int
	waiting []job
}

// run delivers j if its domain has a free connection, then the domain's
// waiting jobs; otherwise it parks j for the worker that frees one.
func (r *Runner) run(j job) {
	v, _ := r.domains.LoadOrStore(j.domain, &domainState{})
	ds := v.(*domainState)
	ds.mu.Lock()
	if ds.active >= r.opts.PerDomain {
		ds.waiting = append(ds.waiting, j)
		ds.mu.Unlock()
		return
	}
	ds.active++
	ds.mu.Unlock()
	for {
		r.deliver(r.ctx, j.domain, j.entries) // settles or hands back every entry
		r.inflight.Add(-int64(len(j.entries)))
		r.Kick()
		ds.mu.Lock()
		if len(ds.waiting) == 0 || r.stopping() {
			ds.active--
			ds.mu.Unlock()
			return // parked jobs of a stopping runner wait for the restart
		}
		j, ds.waiting = ds.waiting[0], ds.waiting[1:]
		ds.mu.Unlock()
	}
}

// deliver sends entries for domain, reusing one connection. Outcomes are
// recorded in the background while the next message is sent, so that
// the store's group commit takes many of them in one fsync; deliver
// returns once all are recorded.
func (r *Runner) deliver(ctx context.Context, domain string, entries []store.QueuedMessage) {
	var settling sync.WaitGroup
	defer settling.Wait()
	settle := func(e *store.QueuedMessage, t *transaction, fail *Reply) {
		settling.Go(func() { r.settle(ctx, e, t, fail) })
	}
	d := &destination{domain: domain}
	var err error
	if d.hops, err = r.hops(ctx, domain); err != nil {
		for i := range entries {
			settle(&entries[i], nil, asReply(err))
		}
		return
	}
	if !d.hops[0].Route {
		d.sts = r.sts(ctx, aLabel(domain))
	}
	cl := r.pool.get(domain)
	start := time.Now()
	for i := range entries {
		if time.Since(start) > r.opts.Lease/2 {
			r.handBack(ctx, entries[i:])
			break
		}
		var t *transaction
		if cl, t, err = r.sendOne(ctx, d, cl, &entries[i]); cl == nil && t == nil {
			// No next hop takes a session: the rest fails the same way,
			// but for messages that waive the TLS policy.
			for j := i; j < len(entries); j++ {
				t, err := r.sendWaived(ctx, d, &entries[j], err)
				settle(&entries[j], t, asReplyOrNil(err))
			}
			return
		}
		if err != nil {
			settle(&entries[i], nil, asReply(err))
			continue
		}
		settle(&entries[i], t, nil)
	}
	if cl != nil {
		r.pool.put(domain, cl)
	}
}

// destination is a domain's next hops and MTA-STS policy for one job.
type destination struct {
	domain string
	hops   []mxHost
	sts    *stsPolicy
	waived bool // "TLS-Required: No": opportunistic TLS whatever the policy
}

// sendWaived retries e over opportunistic TLS when the TLS policy (4.7.5)
// refused every host and the message carries "TLS-Required: No" without
// REQUIRETLS (RFC 8689 §5); otherwise it returns fail.
func (r *Runner) sendWaived(ctx context.Context, d *destination, e *store.QueuedMessage, fail error) (*transaction, error) {
	if asReply(fail).Enhanced != "4.7.5" || e.RequireTLS || !r.tlsWaived(ctx, e) {
		return nil, fail
	}
	w := *d
	w.waived = true
	cl, t, err := r.sendOne(ctx, &w, nil, e)
	if cl != nil {
		cl.quit()
	}
	if err != nil || t == nil {
		return nil, cmpErr(err, fail)
	}
	return t, nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// tlsWaived reports whether e's header has "TLS-Required: No".
func (r *Runner) tlsWaived(ctx context.Context, e *store.QueuedMessage) bool {
	b, err := r.opts.Store.Blobs().Open(ctx, e.BlobID)
	if err != nil {
		return false
	}
	defer b.Close()
	br := bufio.NewReader(b)
	for {
		line, err := br.ReadString('\n')
		if strings.TrimRight(line, "\r\n") == "" {
			return false
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "TLS-Required") &&
			strings.EqualFold(strings.TrimSpace(v), "No") {
			return true
		}
		if err != nil {
			return false
		}
	}
}

func asReplyOrNil(err error) *Reply {
	if err == nil {
		return nil
	}
	return asReply(err)
}

// sendOne sends e on cl, connecting first when cl is nil, and retries
// once on a fresh session when a reused idle one turns out closed. It
// returns the session to go on with (nil when it broke). A nil session
// and transaction mean no session could be opened.
func (r *Runner) sendOne(ctx context.Context, d *destination, cl *client, e *store.QueuedMessage) (*client, *transaction, error) {
	body := func() (store.Blob, error) { return r.opts.Store.Blobs().Open(ctx, e.BlobID) }
	for try := 0; ; try++ {
		reused := cl != nil
		if cl == nil {
			var err error
			if cl, err = r.connect(ctx, d); err != nil {
				return nil, nil, err
			}
		}
		t, err := cl.send(ctx, e, body)
		if err != nil || cl.broken {
			cl.quit()
			cl = nil
		}
		if err == nil || !reused || try > 0 {
			return cl, t, err
		}
	}
}

// handBack ends the lease of entries a slow job will not reach, so that
// no other worker claims them while this one still might send them.
func (r *Runner) handBack(ctx context.Context, entries []store.QueuedMessage) {
	for _, e := range entries {
		r.active.Delete(e.ID) // before the entry is claimable again
		if err := r.opts.Store.UpdateQueued(ctx, e); err != nil {
			r.log.Error("queue release failed", "id", e.ID, "err", err)
		}
	}
}
