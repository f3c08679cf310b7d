package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

// What a per-recipient filter such as Sieve asks beyond one copy in one
// mailbox: more filings, redirects, messages to send, a refusal. All of
// it commits with the delivery (Deliver): the copies and queue rows of a
// message are stored together or not at all.

// maxCopies bounds the copies one delivery makes, local redirects
// included: a chain of scripts redirecting to each other ends there
// (RFC 5228 §4.2 asks implementations to detect such loops).
const maxCopies = 64

// Filing is one more copy of the message in a mailbox of the account.
type Filing struct {
	Mailbox string // "" = INBOX; created when missing
	Flags   []string
	// Header replaces the message's header section in this copy, as
	// Copy.Header does; nil: the copy's.
	Header []byte
	// Message, when set, is stored instead of the delivered message: a
	// copy of a reply the filter sends (Sieve's fcc, RFC 8580).
	Message []byte
}

// Forward is a redirect (RFC 5228 §4.2) to To; Header, when set,
// replaces the message's header section (editheader), else the copy's
// Header does when it has one.
type Forward struct {
	To     string
	Header []byte
}

// Outgoing is a message the filter has the server send: From is the
// envelope sender ("" for the null sender, as vacation replies have,
// RFC 5230 §5), Message the whole message.
type Outgoing struct {
	From    string
	To      []string
	Message []byte
}

// Rejection refuses the message for one account (RFC 5429 §2.1): Reply
// at SMTP time, when it can be given for that recipient alone, else
// Bounce to the envelope sender (never to the null sender).
type Rejection struct {
	Reply  *mail.Error
	Bounce []byte
}

// rejections answers the routes whose every account refused the message
// with the refusal, when the front-end can give per-recipient replies
// (LMTP) or every route is refused; other refusals become bounces sent
// with the delivery.
func (p *Pipeline) rejections(env *Envelope, copies []*Copy, owner map[int64][]int, errs []error) {
	byAccount := map[int64]*Copy{}
	for _, c := range copies {
		byAccount[c.Account.ID] = c
	}
	refused := make([]*mail.Error, len(env.Routes))
	all := true
	for i, r := range env.Routes {
		refused[i] = routeRefusal(r, byAccount)
		all = all && refused[i] != nil
	}
	for i, reply := range refused {
		if reply != nil && (all || env.PerRecipient) {
			errs[i] = reply
		}
	}
	for _, c := range copies {
		if c.Reject == nil || c.Reject.Bounce == nil || env.From == "" {
			continue
		}
		said := len(owner[c.Account.ID]) > 0
		for _, i := range owner[c.Account.ID] {
			said = said && errs[i] != nil
		}
		if !said {
			c.Send = append(c.Send, Outgoing{To: []string{env.From}, Message: c.Reject.Bounce})
		}
	}
}

// routeRefusal is the refusal of a route that only reaches accounts that
// refused the message, nil for any other.
func routeRefusal(r Route, byAccount map[int64]*Copy) *mail.Error {
	if len(r.Local) == 0 || len(r.Remote) > 0 {
		return nil
	}
	var reply *mail.Error
	for _, a := range r.Local {
		c := byAccount[a.ID]
		if c == nil || c.Reject == nil {
			return nil
		}
		reply = c.Reject.Reply
	}
	return reply
}

// redirectedCopies makes the copies of c's redirects to local addresses,
// for accounts that have none yet (have), and drops those from Forward.
// A redirect to an account that has a copy already is a loop (or two ways
// to one account): that copy is kept where it would have been, even if
// its filter discarded it to redirect it, so that a loop never loses the
// message.
func (p *Pipeline) redirectedCopies(ctx context.Context, env *Envelope, c *Copy, have map[int64]*Copy) []*Copy {
	var out []*Copy
	remote := c.Forward[:0]
	for _, f := range c.Forward {
		addr, err := mail.ParseAddress(f.To)
		if err != nil {
			p.log.Warn("sieve: redirect to a bad address dropped", "account", c.Account.Address, "to", f.To)
			continue
		}
		if local, err := p.IsLocal(ctx, addr); err != nil || !local {
			remote = append(remote, f)
			continue
		}
		r, err := p.Resolve(ctx, addr)
		if err != nil {
			p.log.Warn("sieve: redirect to an unknown local address dropped", "account", c.Account.Address, "to", f.To, "err", err)
			continue
		}
		for k, a := range r.Local {
			if there := have[a.ID]; there != nil {
				keepLooped(there, env)
				p.log.Info("sieve: redirect loop ended, the message is kept", "account", a.Address, "from", c.Account.Address)
				continue
			}
			nc := &Copy{Account: a, Reached: r.Reached[k], Mailbox: env.Mailbox, Header: c.Header}
			have[a.ID] = nc
			out = append(out, nc)
		}
		for _, t := range r.Remote {
			remote = append(remote, Forward{To: t})
		}
	}
	c.Forward = remote
	return out
}

// keepLooped keeps a copy that a redirect loop comes back to: stored in
// the envelope's mailbox if its filter left it nowhere.
func keepLooped(c *Copy, env *Envelope) {
	if c.Reject != nil || !c.Discard || len(c.Also) > 0 {
		return
	}
	c.Discard, c.Mailbox = false, env.Mailbox
}

// filterOutbound returns the queue rows for the copies' remote redirects
// (with SRS and ARC as for an alias's remote targets) and their messages
// to send.
func (p *Pipeline) filterOutbound(ctx context.Context, env Envelope, msg Received, copies []*Copy) ([]store.QueuedMessage, error) {
	var q []store.QueuedMessage
	for _, c := range copies {
		if len(c.Forward) > 0 {
			fwd, err := p.forwarded(ctx, env, msg, c)
			if err != nil {
				return nil, err
			}
			q = append(q, fwd...)
		}
		for _, o := range c.Send {
			row, err := p.outgoing(ctx, env, o)
			if err != nil {
				return nil, err
			}
			q = append(q, row...)
		}
	}
	return q, nil
}

// forwarded queues c's remote redirects as an alias of the account would
// forward them: without the header lines added here (the ARC seal
// carries our results), unless editheader rewrote the header.
func (p *Pipeline) forwarded(ctx context.Context, env Envelope, msg Received, c *Copy) ([]store.QueuedMessage, error) {
	byHeader := map[string]*Route{}
	var order []string
	for _, f := range c.Forward {
		h := f.Header
		if h == nil {
			h = c.Header
		}
		r, ok := byHeader[string(h)]
		if !ok {
			r = &Route{Recipient: c.Account.Address, forwarded: true}
			byHeader[string(h)] = r
			order = append(order, string(h))
		}
		r.addRemote(f.To)
	}
	var q []store.QueuedMessage
	for _, h := range order {
		m := msg
		if h != "" {
			own, err := p.withHeader(ctx, msg, []byte(h))
			if err != nil {
				return nil, err
			}
			m = own
		}
		env.Routes = []Route{*byHeader[h]}
		q = append(q, p.outbound(ctx, env, m)...)
	}
	return q, nil
}

// outgoing queues a message a filter sends, DKIM-signed for its From
// domain when a key is at hand.
func (p *Pipeline) outgoing(ctx context.Context, env Envelope, o Outgoing) ([]store.QueuedMessage, error) {
	msg, err := p.Receive(ctx, bytes.NewReader(o.Message))
	if err != nil {
		return nil, err
	}
	out := Envelope{ID: env.ID, From: o.From, Sign: true}
	for _, to := range o.To {
		out.Routes = append(out.Routes, Route{Recipient: to, Remote: []string{to}})
	}
	return p.outbound(ctx, out, msg), nil
}

// withHeader writes a blob of msg with its header section replaced by
// header (which ends with the empty line).
func (p *Pipeline) withHeader(ctx context.Context, msg Received, header []byte) (Received, error) {
	b, err := p.store.Blobs().Open(ctx, msg.BlobID)
	if err != nil {
		return Received{}, p.storageError(err)
	}
	defer b.Close()
	skip := int64(0)
	if msg.Parsed != nil {
		skip = min(msg.Parsed.HeaderSize, b.Size())
	}
	own, err := p.Receive(ctx, io.MultiReader(bytes.NewReader(header), io.NewSectionReader(b, skip, b.Size()-skip)))
	if err != nil {
		return Received{}, fmt.Errorf("delivery: copy with a new header: %w", err)
	}
	return own, nil
}

// delivered runs the Delivered hooks of the copies stored in full.
func (p *Pipeline) delivered(ctx context.Context, copies []*Copy, failed map[int64]bool) {
	for _, c := range copies {
		if c.Delivered != nil && !failed[c.Account.ID] {
			c.Delivered(ctx)
		}
	}
}
