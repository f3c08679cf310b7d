package delivery

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"facteur.dev/facteur/internal/dsn"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

// Signer signs outgoing mail (DKIM): it returns header lines to put
// before the message, "" when it has no key for domain.
type Signer interface {
	Sign(ctx context.Context, domain string, msg io.Reader) (string, error)
}

// SetSigner makes the pipeline sign queued copies of envelopes with Sign
// set, with the key of the From header's domain.
func (p *Pipeline) SetSigner(s Signer) { p.signer = s }

// OnQueued sets a function called after remote targets were queued.
func (p *Pipeline) OnQueued(fn func()) { p.onQueued = fn }

// outbound groups env's remote targets into one queue entry per
// destination domain, each recipient with its DSN parameters.
func (p *Pipeline) outbound(ctx context.Context, env Envelope, msg Received) []store.QueuedMessage {
	byDomain := map[[2]string]int{} // (sender, domain) → entry
	var q []store.QueuedMessage
	for _, r := range env.Routes {
		sender := p.forwardSender(ctx, env, r) // SRS for forwarded mail (srs.go)
		var sealed string                      // an ARC set for forwarded mail (srs.go)
		if len(r.Remote) > 0 {
			sealed = p.forwardHeaders(ctx, env, msg, r)
		}
		for _, a := range r.Remote {
			d := strings.ToLower(a[strings.LastIndexByte(a, '@')+1:])
			key := [2]string{sender, d}
			i, ok := byDomain[key]
			if !ok {
				i = len(q)
				byDomain[key] = i
				q = append(q, store.QueuedMessage{Txn: env.ID, Sender: sender, Domain: d, BlobID: msg.BlobID, Headers: sealed,
					Size: msg.Size, EnvID: env.EnvID, Ret: env.Ret, SMTPUTF8: env.SMTPUTF8,
					Body8Bit: env.Body8Bit, RequireTLS: env.RequireTLS})
			}
			q[i].Recipients = append(q[i].Recipients, a)
			q[i].Status = append(q[i].Status, store.RecipientStatus{Notify: r.Notify, ORcpt: r.ORcpt})
		}
	}
	if len(q) > 0 && env.Sign && p.signer != nil {
		h := p.sign(ctx, msg)
		for i := range q {
			q[i].Headers = h
		}
	}
	return q
}

// sign returns the DKIM-Signature headers for msg, signed for the domain
// of its (first) From address; "" when it cannot.
func (p *Pipeline) sign(ctx context.Context, msg Received) string {
	if msg.Parsed == nil || len(msg.Parsed.Envelope.From) == 0 {
		return ""
	}
	domain := strings.ToLower(msg.Parsed.Envelope.From[0].Host)
	b, err := p.store.Blobs().Open(ctx, msg.BlobID)
	if err != nil {
		p.log.Warn("dkim: cannot read message, queued unsigned", "err", err)
		return ""
	}
	defer b.Close()
	h, err := p.signer.Sign(ctx, domain, b)
	if err != nil {
		p.log.Warn("dkim: signing failed, queued unsigned", "domain", domain, "err", err)
		return ""
	}
	return h
}

// SetHostname names this server in the DSNs the pipeline sends.
func (p *Pipeline) SetHostname(h string) { p.hostname = h }

// notifyDelivered sends the sender a "delivered" DSN for local routes
// delivered with NOTIFY=SUCCESS (RFC 3461 §4.1): submission advertises
// DSN, so final delivery here reports success when asked. Remote routes
// are reported by the queue.
func (p *Pipeline) notifyDelivered(ctx context.Context, env Envelope, msg Received, errs []error) {
	if env.From == "" {
		return
	}
	var rcpts []dsn.Recipient
	for i, r := range env.Routes {
		if errs[i] != nil || len(r.Local) == 0 || !strings.Contains(strings.ToUpper(r.Notify), "SUCCESS") {
			continue
		}
		rcpts = append(rcpts, dsn.Recipient{Final: r.Recipient, Original: r.ORcpt, Action: "delivered",
			Status: "2.0.0", Human: "delivered to the mailbox"})
	}
	if len(rcpts) == 0 {
		return
	}
	if err := p.sendReport(ctx, env, msg, rcpts); err != nil {
		p.log.Warn("delivered DSN failed", "to", env.From, "err", err)
	}
}

func (p *Pipeline) sendReport(ctx context.Context, env Envelope, msg Received, rcpts []dsn.Recipient) error {
	b, err := p.store.Blobs().Open(ctx, msg.BlobID)
	if err != nil {
		return err
	}
	defer b.Close()
	now := time.Now()
	report, err := dsn.Build(dsn.Report{ReportingMTA: p.hostname, To: env.From, EnvID: env.EnvID, Arrival: now,
		Date: now, Recipients: rcpts, Original: b, Full: strings.EqualFold(env.Ret, "FULL")})
	if err != nil {
		return err
	}
	return p.SendReport(ctx, env.From, report)
}

// SendReport delivers a report (a DSN) to address to with the null
// sender: into the mailbox of a local address, into the queue for a
// remote one. The null sender means no report is ever sent about it.
func (p *Pipeline) SendReport(ctx context.Context, to string, report []byte) error {
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return err
	}
	route := Route{Recipient: to, Remote: []string{to}}
	if local, err := p.IsLocal(ctx, addr); err != nil {
		return err
	} else if local {
		if route, err = p.Resolve(ctx, addr); err != nil {
			return err
		}
	}
	rec, err := p.Receive(ctx, bytes.NewReader(report))
	if err != nil {
		return err
	}
	for _, err := range p.Deliver(ctx, Envelope{Routes: []Route{route}}, rec) {
		if err != nil {
			return err
		}
	}
	return nil
}
