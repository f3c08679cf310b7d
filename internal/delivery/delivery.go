// Package delivery is Facteur's inbound pipeline: it decides where a
// recipient's mail goes (accounts, aliases with loop detection, catch-all,
// plus-addressing), receives message bytes into a blob while parsing them
// once, and stores one copy per local account or queues remote targets.
// Protocol front-ends (smtpd for SMTP and LMTP) call it; it knows nothing
// of their wire formats, only of mail.Error replies.
package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/srs"
	"facteur.dev/facteur/internal/store"
)

// maxAliasDepth bounds alias chains; deeper chains are treated as loops.
const maxAliasDepth = 10

// Pipeline delivers messages into a store.
type Pipeline struct {
	store    store.Store
	filters  []CopyFilter  // per-recipient steps (SetCopyFilters)
	srs      *srs.Rewriter // nil: no sender rewriting (srs.go)
	sealer   ForwardSealer // nil: forwarded mail is not ARC-sealed (srs.go)
	log      *slog.Logger
	signer   Signer // DKIM for queued submissions, nil for none (outbound.go)
	hostname string // names us in DSNs (outbound.go)
	onQueued func() // wakes the queue runner
	space    space  // free disk space before a transaction (space.go)
	// postmaster receives postmaster@ mail of domains without one
	// (SetPostmaster); "" is each domain's first account.
	postmaster string
}

// New returns a pipeline over s.
func New(s store.Store, log *slog.Logger) *Pipeline {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{store: s, log: log}
}

// Route is where one envelope recipient's mail goes after alias expansion.
type Route struct {
	Recipient string          // as given in RCPT TO
	Local     []store.Account // accounts that get a copy
	Remote    []string        // addresses outside our domains (alias targets or submission)
	Notify    string          // RFC 3461 NOTIFY for Remote, "" for the default
	ORcpt     string          // RFC 3461 ORCPT, "rfc822;addr"
	// Reached[i] is the address that reached Local[i]: the recipient, an
	// alias on the way, or the address without its +tag.
	Reached  []string
	disabled bool // an account was found but is disabled
	// forwarded: Remote came from our own alias or SRS address, as
	// opposed to a submission's recipient (srs.go).
	forwarded bool
}

// Full reports whether every account of the route is at or over its quota
// for a message of size bytes (0: size unknown), so that RCPT can refuse
// with 452 4.2.2 before the data is sent (RFC 5321 §4.5.3.1.10 permits the
// temporary refusal at RCPT). A route with a remote target is never full.
func (r Route) Full(size int64) bool {
	if len(r.Local) == 0 || len(r.Remote) > 0 {
		return false
	}
	for _, a := range r.Local {
		if a.QuotaBytes == 0 || a.UsedBytes+max(size, 1) <= a.QuotaBytes {
			return false
		}
	}
	return true
}

// IsLocal reports whether the domain of addr is one of ours.
func (p *Pipeline) IsLocal(ctx context.Context, addr mail.Address) (bool, error) {
	return p.store.HasDomain(ctx, addr.Domain)
}

// Resolve routes a recipient in one of our domains (the caller checks that
// with IsLocal). Lookup order: exact
// alias, account, then the same two without a "+tag" (RFC 5233), then the
// domain's catch-all "@domain". Unknown users get mail.ErrNoSuchUser.
func (p *Pipeline) Resolve(ctx context.Context, addr mail.Address) (Route, error) {
	if r, ok, err := p.resolveSRS(addr); ok { // a bounce to an address we rewrote (srs.go)
		return r, err
	}
	r := Route{Recipient: addr.String()}
	loop, err := p.expand(ctx, addr, map[string]bool{}, 0, &r)
	if err != nil {
		return r, err
	}
	if len(r.Local) == 0 && len(r.Remote) == 0 {
		switch {
		case loop:
			return r, mail.ErrAliasLoop
		case r.disabled:
			return r, mail.ErrDisabled
		}
		if strings.EqualFold(addr.Local, "postmaster") {
			return p.postmasterRoute(ctx, addr)
		}
		return r, mail.ErrNoSuchUser
	}
	return r, nil
}

// SetPostmaster names where mail to postmaster@ a domain goes when the
// domain has no account or alias of that name; "" is the domain's first
// account.
func (p *Pipeline) SetPostmaster(address string) { p.postmaster = address }

// postmasterRoute routes postmaster@domain, which every domain must
// accept (RFC 5321 §4.5.1; its DMARC and TLS-RPT reports go there), to
// the configured postmaster or else the domain's first account.
func (p *Pipeline) postmasterRoute(ctx context.Context, addr mail.Address) (Route, error) {
	r := Route{Recipient: addr.String()}
	if p.postmaster != "" {
		to, err := mail.ParseAddress(p.postmaster)
		if err == nil && to.Key() != addr.Key() { // not itself: that would loop
			pr, err := p.Resolve(ctx, to)
			pr.Recipient = r.Recipient
			return pr, err
		}
	}
	accts, err := p.store.ListAccounts(ctx, addr.Domain)
	if err != nil {
		return r, err
	}
	var first *store.Account // the oldest enabled account
	for i, a := range accts {
		if !a.Disabled && (first == nil || a.ID < first.ID) {
			first = &accts[i]
		}
	}
	if first == nil {
		return r, mail.ErrNoSuchUser
	}
	r.Local, r.Reached = []store.Account{*first}, []string{addr.Key()}
	return r, nil
}

// expand adds addr's destinations to r. It reports whether a loop was cut.
func (p *Pipeline) expand(ctx context.Context, addr mail.Address, seen map[string]bool, depth int, r *Route) (bool, error) {
	key := addr.Key()
	if depth > maxAliasDepth {
		return true, nil
	}
	if depth > 0 { // Resolve's caller has checked the first address
		if local, err := p.IsLocal(ctx, addr); err != nil || !local {
			if err == nil {
				r.addRemote(addr.String())
				r.forwarded = true
			}
			return false, err
		}
	}
	if seen[key] {
		// An alias that names itself (alice → alice, archive) means
		// "deliver to the account too"; otherwise it is a loop.
		found, err := p.addAccount(ctx, key, r)
		return !found, err
	}
	seen[key] = true
	for _, cand := range candidates(addr) {
		targets, err := p.store.AliasTargets(ctx, cand)
		if err == nil {
			return p.expandTargets(ctx, targets, seen, depth, r)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		if found, err := p.addAccount(ctx, cand, r); found || err != nil {
			return false, err
		}
	}
	targets, err := p.store.AliasTargets(ctx, "@"+addr.Domain)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return p.expandTargets(ctx, targets, seen, depth, r)
}

// candidates are the lookup keys for addr: itself, then without its tag.
func candidates(addr mail.Address) []string {
	out := []string{addr.Key()}
	if base, ok := addr.StripTag(); ok {
		out = append(out, base.Key())
	}
	return out
}

func (p *Pipeline) expandTargets(ctx context.Context, targets []string, seen map[string]bool, depth int, r *Route) (bool, error) {
	loop := false
	for _, t := range targets {
		ta, err := mail.ParseAddress(t)
		if err != nil {
			p.log.Warn("alias target is not an address, skipped", "target", t)
			continue
		}
		l, err := p.expand(ctx, ta, seen, depth+1, r)
		if err != nil {
			return false, err
		}
		loop = loop || l
	}
	return loop, nil
}

func (p *Pipeline) addAccount(ctx context.Context, key string, r *Route) (bool, error) {
	a, err := p.store.LookupAccount(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if a.Disabled {
		r.disabled = true
		return true, nil
	}
	for _, have := range r.Local {
		if have.ID == a.ID {
			return true, nil
		}
	}
	r.Local = append(r.Local, a)
	r.Reached = append(r.Reached, key)
	return true, nil
}

func (r *Route) addRemote(addr string) {
	for _, have := range r.Remote {
		if strings.EqualFold(have, addr) {
			return
		}
	}
	r.Remote = append(r.Remote, addr)
}

// Received is a message whose bytes are durable in a blob and parsed.
type Received struct {
	BlobID string
	Size   int64
	Parsed *message.Parsed
}

// Receive streams r into a new blob, parsing it in the same pass, and
// commits (fsyncs) the blob. On any error nothing is kept.
func (p *Pipeline) Receive(ctx context.Context, r io.Reader) (Received, error) {
	w, err := p.store.Blobs().Create(ctx)
	if err != nil {
		return Received{}, p.storageError(err)
	}
	pr, pw := io.Pipe()
	type result struct {
		p   *message.Parsed
		err error
	}
	parsed := make(chan result, 1)
	go func() {
		m, err := message.Parse(pr)
		io.Copy(io.Discard, pr) // never leave the writer blocked
		parsed <- result{m, err}
	}()
	bw := &blobWriter{w: w}
	_, copyErr := io.Copy(io.MultiWriter(bw, pw), r)
	pw.CloseWithError(copyErr)
	res := <-parsed
	if copyErr != nil {
		w.Abort()
		if bw.err != nil {
			return Received{}, p.storageError(bw.err)
		}
		return Received{}, copyErr // the client's side: too large, connection lost
	}
	if res.err != nil {
		w.Abort()
		return Received{}, res.err
	}
	id, size, err := w.Commit()
	if err != nil {
		return Received{}, p.storageError(err)
	}
	return Received{BlobID: id, Size: size, Parsed: res.p}, nil
}

// Discard tells the store that nothing will refer to msg's bytes (the
// message was refused after they were written), so that a backend that
// holds them in memory until the first delivery can let them go.
func (p *Pipeline) Discard(msg Received) {
	if d, ok := p.store.Blobs().(interface{ Discard(id string) }); ok {
		d.Discard(msg.BlobID)
	}
}

// blobWriter remembers a write error, to tell a full disk from a client
// that went away.
type blobWriter struct {
	w   io.Writer
	err error
}

func (b *blobWriter) Write(p []byte) (int, error) {
	n, err := b.w.Write(p)
	if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

// storageError turns a local write failure (such as a full disk) into a
// temporary reply (RFC 3463 4.3.1), so the sender retries later.
// The reply does not carry the local error text (paths are not the
// client's business); the log does.
func (p *Pipeline) storageError(err error) error {
	p.log.Error("storage failure", "err", err)
	return ErrStorage
}

// ErrStorage is the reply to a local write failure.
var ErrStorage = mail.Errorf(452, [3]int{4, 3, 1}, "Insufficient system storage, try again later")

// Envelope is what a message is delivered with.
type Envelope struct {
	// ID names the transaction (the "id" of its Received header): the
	// logs of its receipt, delivery and relay, and its queue rows, share it.
	ID     string
	From   string  // reverse-path, "" for the null sender
	Routes []Route // one per accepted recipient
	EnvID  string
	Ret    string
	// MAIL parameters kept for the next hop: SMTPUTF8 (RFC 6531),
	// BODY=8BITMIME (RFC 6152), REQUIRETLS (RFC 8689).
	SMTPUTF8, Body8Bit, RequireTLS bool
	// Sign asks for a DKIM signature on queued copies (submission).
	Sign bool
	// PerRecipient: the front-end replies for each recipient after DATA
	// (LMTP, RFC 2033 §4.2), so one recipient's refusal need not be the
	// whole message's.
	PerRecipient bool
	// Headers are header lines to prepend to every local copy (each
	// ending in CRLF, such as Authentication-Results): kept with each
	// stored copy, not written into the blob (store.NewMessage.Headers).
	Headers string
	// Mailbox is where local copies go ("" = INBOX), e.g. "Junk" for a
	// DMARC quarantine; created when missing.
	Mailbox string
	// Results are what this server's inbound checks found (SPF, DKIM,
	// DMARC …), those of Headers' Authentication-Results, for the
	// per-recipient filters. Nil when no check ran: never read from
	// the message, whose own Authentication-Results anyone could write.
	Results []authres.Result
}

// Copy is one account's copy of a message as the per-recipient filters
// (Sieve, a per-user spam filter) decide it: which mailbox, which flags,
// header lines for this copy alone, or no copy at all; and, for Sieve,
// more copies, redirects, messages to send and a refusal (filings.go).
type Copy struct {
	Account store.Account
	Reached string // the address that reached the account: an alias, a +tag
	Mailbox string // "" = INBOX
	Flags   []string
	Headers string // after the envelope's, for this copy only (CRLF-terminated lines)
	// Header, when not nil, replaces the whole header section this copy
	// would have (the envelope's and the copy's Headers and the message's
	// own), as Sieve's editheader leaves it: CRLF lines and the empty line.
	Header  []byte
	Discard bool // no copy in Mailbox (Also, Forward and Send still happen)
	// Also are further copies in other mailboxes of the account.
	Also []Filing
	// Forward are addresses the message is redirected to: local ones are
	// delivered in the same commit, remote ones queued with SRS.
	Forward []Forward
	// Send are messages to send for the account (vacation replies,
	// notifications), queued with the delivery.
	Send []Outgoing
	// Reject refuses the message for this account (Sieve's reject): the
	// reply at SMTP time when it can be given, else Bounce is sent to the
	// envelope sender.
	Reject *Rejection
	// Delivered, when set, runs once the copy is stored (Sieve's memory of
	// duplicates and vacation replies).
	Delivered func(ctx context.Context)
}

// CopyFilter decides one account's copy. An error leaves the copy as it
// was (the message is kept in the INBOX, as Sieve's implicit keep on a
// runtime error, RFC 5228 §2.10.6) and is logged.
type CopyFilter interface {
	FilterCopy(ctx context.Context, env *Envelope, msg Received, c *Copy) error
}

// SetCopyFilters sets the per-recipient filters, run in order for every
// local copy.
func (p *Pipeline) SetCopyFilters(fs ...CopyFilter) { p.filters = fs }

// AddCopyFilter appends a per-recipient filter, run after those already set.
func (p *Pipeline) AddCopyFilter(f CopyFilter) { p.filters = append(p.filters, f) }

// copies makes one Copy per account of env's routes, however many routes
// reach it, and runs the filters on each, then on the copies that local
// redirects make (filings.go). owner maps an account to the routes that
// reach it.
func (p *Pipeline) copies(ctx context.Context, env *Envelope, msg Received) ([]*Copy, map[int64][]int) {
	var out []*Copy
	owner := map[int64][]int{}
	for i, r := range env.Routes {
		for k, a := range r.Local {
			if _, dup := owner[a.ID]; !dup {
				c := &Copy{Account: a, Mailbox: env.Mailbox}
				if k < len(r.Reached) {
					c.Reached = r.Reached[k]
				}
				out = append(out, c)
			}
			owner[a.ID] = append(owner[a.ID], i)
		}
	}
	have := map[int64]*Copy{}
	for _, c := range out {
		have[c.Account.ID] = c
	}
	for i := 0; i < len(out); i++ {
		p.filter(ctx, env, msg, out[i])
		if i < maxCopies {
			out = append(out, p.redirectedCopies(ctx, env, out[i], have)...)
		}
	}
	return out, owner
}

// filter runs the per-recipient filters on c.
func (p *Pipeline) filter(ctx context.Context, env *Envelope, msg Received, c *Copy) {
	for _, f := range p.filters {
		if err := f.FilterCopy(ctx, env, msg, c); err != nil {
			p.log.Warn("filter failed, keeping the message in INBOX", "account", c.Account.Address, "err", err)
			*c = Copy{Account: c.Account, Reached: c.Reached}
			return
		}
	}
}

// newMessages turns the copies into what the store takes: each copy's
// mailbox and its Also filings. Copies with the same added headers share
// one Parsed; a copy with a Header of its own has a blob of its own.
func (p *Pipeline) newMessages(ctx context.Context, env *Envelope, msg Received, copies []*Copy) ([]store.NewMessage, error) {
	now := time.Now()
	parsed := map[string]*message.Parsed{}
	var news []store.NewMessage
	for _, c := range copies {
		if c.Reject != nil || (c.Discard && len(c.Also) == 0) {
			continue
		}
		nm := store.NewMessage{AccountID: c.Account.ID, BlobID: msg.BlobID, Size: msg.Size, InternalDate: now}
		if c.Header != nil {
			own, err := p.withHeader(ctx, msg, c.Header)
			if err != nil {
				return nil, err
			}
			nm.BlobID, nm.Size, nm.Parsed = own.BlobID, own.Size, own.Parsed
		} else {
			h := env.Headers + c.Headers
			if _, ok := parsed[h]; !ok && msg.Parsed != nil {
				parsed[h] = msg.Parsed.WithPrefix(h) // of the blob; a copy's describes its Headers too
			}
			nm.Headers, nm.Parsed = h, parsed[h]
		}
		if !c.Discard {
			nm.Mailbox, nm.Flags = p.mailbox(ctx, c.Account, c.Mailbox), c.Flags
			news = append(news, nm)
		}
		for _, f := range c.Also {
			fm, err := p.filing(ctx, msg, nm, f)
			if err != nil {
				return nil, err
			}
			fm.Mailbox, fm.Flags = p.mailbox(ctx, c.Account, f.Mailbox), f.Flags
			news = append(news, fm)
		}
	}
	return news, nil
}

// filing is the stored message of f, one more copy like nm unless it has
// a header or a message of its own.
func (p *Pipeline) filing(ctx context.Context, msg Received, nm store.NewMessage, f Filing) (store.NewMessage, error) {
	var own Received
	var err error
	switch {
	case f.Message != nil:
		own, err = p.Receive(ctx, bytes.NewReader(f.Message))
	case f.Header != nil:
		own, err = p.withHeader(ctx, msg, f.Header)
	default:
		return nm, nil
	}
	if err != nil {
		return nm, err
	}
	nm.BlobID, nm.Size, nm.Headers, nm.Parsed = own.BlobID, own.Size, "", own.Parsed
	return nm, nil
}

// mailbox returns the named mailbox of the account, created if missing
// ("Junk" with the \Junk special use, RFC 6154); INBOX when it cannot be
// made.
func (p *Pipeline) mailbox(ctx context.Context, acct store.Account, name string) string {
	if name == "" || strings.EqualFold(name, "INBOX") {
		return ""
	}
	_, err := p.store.GetMailbox(ctx, acct.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		special := ""
		if name == "Junk" {
			special = `\Junk`
		}
		_, err = p.store.CreateMailbox(ctx, acct.ID, name, special)
		if err != nil {
			_, err = p.store.GetMailbox(ctx, acct.ID, name) // made meanwhile?
		}
	}
	if err != nil {
		p.log.Warn("mailbox unavailable, delivering to INBOX", "account", acct.Address, "mailbox", name, "err", err)
		return ""
	}
	return name
}

// Deliver stores msg for every local account of env's routes, once per
// account however many routes reach it, and queues remote targets, grouped
// by domain. It returns one error per route (nil when delivered).
func (p *Pipeline) Deliver(ctx context.Context, env Envelope, msg Received) []error {
	errs := make([]error, len(env.Routes))
	copies, owner := p.copies(ctx, &env, msg)
	p.rejections(&env, copies, owner, errs)
	news, err := p.newMessages(ctx, &env, msg, copies)
	var q []store.QueuedMessage
	if err == nil {
		q, err = p.filterOutbound(ctx, env, msg, copies)
	}
	if err != nil {
		return p.allFailed(errs, err)
	}
	q = append(p.outbound(ctx, env, msg), q...)
	// The local copies and the queue rows commit together: a crash never
	// leaves one without the other, so a retry by the sender after no
	// reply duplicates nothing.
	stored, derrs, ids, qerr := p.store.DeliverAndEnqueue(ctx, news, q)
	if qerr != nil {
		return p.allFailed(errs, fmt.Errorf("deliver and queue: %w", qerr))
	}
	p.queued(env, ids)
	failed := map[int64]bool{}  // accounts with a copy that failed
	reached := map[int64]bool{} // … and with one that did not
	for j, n := range news {
		if err := derrs[j]; err != nil {
			var me *mail.Error
			if !errors.As(err, &me) {
				err = p.storageError(err) // logged there, without the detail on the wire
			} else {
				p.log.Warn("delivery failed", "account", n.AccountID, "err", err)
			}
			failed[n.AccountID] = true
			for _, i := range owner[n.AccountID] {
				errs[i] = err
			}
			continue
		}
		reached[n.AccountID] = true
		p.logDelivered(env, msg, copies, n, stored[j])
	}
	p.clearPartialFailures(env, failed, reached, errs)
	p.delivered(ctx, copies, failed)
	p.notifyDelivered(ctx, env, msg, errs)
	return errs
}

// logDelivered writes the one line each stored copy gets: the
// transaction, sender, the address that reached the account, the
// account, mailbox, UID and Message-ID.
func (p *Pipeline) logDelivered(env Envelope, msg Received, copies []*Copy, n store.NewMessage, d store.Delivered) {
	to, acct := "", ""
	for _, c := range copies {
		if c.Account.ID == n.AccountID {
			to, acct = c.Reached, c.Account.Address
			break
		}
	}
	mid := ""
	if msg.Parsed != nil {
		mid = msg.Parsed.MessageID
	}
	mailbox := n.Mailbox
	if mailbox == "" {
		mailbox = "INBOX"
	}
	p.log.Info("delivered", "id", env.ID, "from", env.From, "to", to, "account", acct, "mailbox", mailbox,
		"uid", d.UID, "message_id", mid)
}

// allFailed sets every route's error to the storage failure err.
func (p *Pipeline) allFailed(errs []error, err error) []error {
	err = p.storageError(err)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// clearPartialFailures reports success for a route that reached at least
// one account: saying 4xx would make the sender retry and duplicate the
// copies that did arrive.
func (p *Pipeline) clearPartialFailures(env Envelope, failed, reached map[int64]bool, errs []error) {
	for i, r := range env.Routes {
		if errs[i] == nil || !slices.ContainsFunc(r.Local, func(a store.Account) bool { return failed[a.ID] }) {
			continue // not a storage failure (a Sieve reject is not cleared)
		}
		if slices.ContainsFunc(r.Local, func(a store.Account) bool { return reached[a.ID] }) {
			errs[i] = nil
		}
	}
}

// queued logs queue rows just stored and wakes the queue runner.
func (p *Pipeline) queued(env Envelope, ids []int64) {
	if len(ids) == 0 {
		return
	}
	p.log.Info("queued", "id", env.ID, "queue_ids", ids, "from", env.From)
	if p.onQueued != nil {
		p.onQueued()
	}
}

// AliasTargets exposes alias lookup for sender checks at submission.
func (p *Pipeline) AliasTargets(ctx context.Context, address string) ([]string, error) {
	return p.store.AliasTargets(ctx, address)
}
