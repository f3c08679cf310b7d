package delivery

import (
	"context"

	"github.com/emersion/go-msgauth/authres"

	"strings"
	"time"

	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/srs"
)

// SetSRS turns on the Sender Rewriting Scheme: mail from a remote sender
// forwarded to a remote alias target leaves with an SRS address of the
// alias's domain as its envelope sender, so SPF passes at the next hop
// (RFC 7208 §1.2 forwarding), and bounces to such an address reach the
// original sender. Nil turns it off.
func (p *Pipeline) SetSRS(r *srs.Rewriter) { p.srs = r }

// errBadSRS: an SRS address of ours whose hash does not match or that has
// expired; refused as an unknown user (no backscatter).
var errBadSRS = mail.Errorf(550, [3]int{5, 1, 1}, "No such user here (invalid or expired SRS address)")

// resolveSRS routes an SRS address of ours to the address it stands for;
// ok is false when addr is not SRS (or SRS is off).
func (p *Pipeline) resolveSRS(addr mail.Address) (Route, bool, error) {
	if p.srs == nil || !srs.IsSRS(addr.Local) {
		return Route{}, false, nil
	}
	orig, err := p.srs.Reverse(addr.String(), time.Now())
	if err != nil {
		return Route{}, true, errBadSRS
	}
	return Route{Recipient: addr.String(), Remote: []string{orig}, forwarded: true}, true, nil
}

// forwardSender is the envelope sender for the remote targets of route r:
// an SRS address in the domain of the recipient that was forwarded, when
// the message came from a remote sender and was not submitted by a user
// of ours (submission keeps the user's address).
func (p *Pipeline) forwardSender(ctx context.Context, env Envelope, r Route) string {
	if p.srs == nil || env.From == "" || env.Sign || !r.forwarded {
		return env.From
	}
	from, err := mail.ParseAddress(env.From)
	if err != nil {
		return env.From
	}
	if local, err := p.IsLocal(ctx, from); err != nil || local {
		return env.From
	}
	domain := r.Recipient[strings.LastIndexByte(r.Recipient, '@')+1:]
	rewritten, err := p.srs.Forward(env.From, domain, time.Now())
	if err != nil {
		return env.From
	}
	return rewritten
}

// ForwardSealer adds an ARC set (RFC 8617) to mail forwarded to a remote
// alias target, in the name of domain, with the checks' results.
type ForwardSealer interface {
	SealForward(ctx context.Context, msg *Message, results []authres.Result, domain string) (string, error)
}

// SetForwardSealer turns on ARC sealing of forwarded mail; nil, off.
func (p *Pipeline) SetForwardSealer(s ForwardSealer) { p.sealer = s }

// forwardHeaders are the header lines to put before a forwarded copy
// queued for route r: an ARC set when sealing is on and the mail came
// from outside (not a submission).
func (p *Pipeline) forwardHeaders(ctx context.Context, env Envelope, msg Received, r Route) string {
	if p.sealer == nil || env.Sign || !r.forwarded {
		return ""
	}
	domain := r.Recipient[strings.LastIndexByte(r.Recipient, '@')+1:]
	h, err := p.sealer.SealForward(ctx, p.NewMessage(msg), env.Results, domain)
	if err != nil {
		p.log.Warn("arc: sealing failed, forwarded unsealed", "domain", domain, "err", err)
		return ""
	}
	return h
}
