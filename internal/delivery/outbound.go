package delivery

import (
	"context"
	"io"
	"strings"

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
	byDomain := map[string]int{}
	var q []store.QueuedMessage
	for _, r := range env.Routes {
		for _, a := range r.Remote {
			d := strings.ToLower(a[strings.LastIndexByte(a, '@')+1:])
			i, ok := byDomain[d]
			if !ok {
				i = len(q)
				byDomain[d] = i
				q = append(q, store.QueuedMessage{Sender: env.From, Domain: d, BlobID: msg.BlobID,
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
