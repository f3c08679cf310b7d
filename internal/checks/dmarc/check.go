// Package dmarc is the inbound DMARC check (RFC 7489, and
// draft-ietf-dmarc-dmarcbis, "DMARCbis" below, where it differs): at the
// end of DATA it takes the domain of the RFC5322.From header field, finds
// the domain's policy record by the DNS Tree Walk of DMARCbis §4.10 (no
// public suffix list), checks whether the SPF or a DKIM result that
// earlier checks recorded is aligned with it, records dmarc=pass|fail|
// none|temperror|permerror for Authentication-Results (RFC 7489 §11.2,
// RFC 8601 §2.7.6), and, when enforcing, refuses the message (p=reject)
// or files it as Junk (p=quarantine).
//
// The package has its own record parser (Parse), and hands what each
// evaluation found to an optional Recorder, for aggregate reports.
package dmarc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/mail"
)

// MaxAuthorDomains bounds the author domains evaluated for one message
// (DMARCbis §10.5: evaluating many invites a denial of service). A
// message whose From fields name more gets dmarc=permerror and, when
// enforcing, goes to Junk: such mail is almost always abusive (ibid.).
const MaxAuthorDomains = 5

// JunkFolder is where quarantined mail goes.
const JunkFolder = "Junk"

// Check is the DMARC check, a delivery.DataCheck. Its zero value with a
// Resolver only records results and lets mail through on DNS failures;
// New gives the defaults.
type Check struct {
	Resolver dns.Resolver
	// Enforce applies the policies: p=reject refuses with 550 5.7.1,
	// p=quarantine files in Junk. Off, the check only records results.
	// (DMARCbis §5.4 and §7.4 ask receivers not to reject on p=reject
	// alone; an operator who turns this on chooses to.)
	Enforce bool
	// TempfailOnDNSError returns an error when a DNS failure leaves the
	// result open, so the pipeline answers 451 4.4.3 (unless the check's
	// on_error policy is accept) and the sender retries: "fail closed".
	// Off, the check records dmarc=temperror and accepts ("fail open").
	// RFC 7489 §6.6.3 and DMARCbis §4.10.1 leave the choice to the
	// receiver. New turns it on.
	TempfailOnDNSError bool
	// Recorder, when set, gets each evaluation, for aggregate reports.
	Recorder Recorder
	// Log reports Recorder failures; nil discards them.
	Log *slog.Logger

	sample func(pct int) bool // does pct select this message? nil: at random
	now    func() time.Time   // nil: time.Now
}

var _ delivery.DataCheck = (*Check)(nil)

// New returns a check that asks r, tempfails on DNS errors and does not
// enforce (set Enforce).
func New(r dns.Resolver) *Check { return &Check{Resolver: r, TempfailOnDNSError: true} }

// Name is "dmarc".
func (c *Check) Name() string { return "dmarc" }

// outcome is the evaluation of one author domain.
type outcome struct {
	ev     Evaluation
	reason string // for Authentication-Results
	err    error  // the DNS failure of a temperror
}

// Data evaluates DMARC for each author domain of msg (RFC 7489 §6.6,
// DMARCbis §5.3).
func (c *Check) Data(ctx context.Context, tx *delivery.Transaction, msg *delivery.Message) (delivery.Verdict, error) {
	if tx.Conn != nil && tx.Conn.Trusted {
		return delivery.Verdict{}, nil // a local relay, a webmail: no policy to apply
	}
	var domains []string
	if msg != nil {
		domains = authorDomains(msg.Parsed)
	}
	switch {
	case len(domains) == 0:
		// RFC 7489 §11.2: none, "no aligned identifier could be extracted".
		return delivery.Verdict{Results: []authres.Result{
			&authres.DMARCResult{Value: authres.ResultNone, Reason: "no author domain"}}}, nil
	case len(domains) > MaxAuthorDomains:
		return c.tooMany(domains), nil
	}
	w := newWalker(c.Resolver)
	ids := identifiersOf(tx)
	outs := make([]outcome, len(domains))
	for i, d := range domains {
		outs[i] = c.evaluate(ctx, w, tx, ids, d)
		c.record(ctx, outs[i].ev)
	}
	return c.verdict(outs)
}

func (c *Check) tooMany(domains []string) delivery.Verdict {
	v := delivery.Verdict{Results: []authres.Result{&authres.DMARCResult{Value: authres.ResultPermError,
		From: domains[0], Reason: fmt.Sprintf("%d author domains", len(domains))}}}
	if c.Enforce {
		v.Folder = JunkFolder
	}
	return v
}

// evaluate is DMARC for one author domain: policy discovery, alignment,
// and the disposition of a failure.
func (c *Check) evaluate(ctx context.Context, w *walker, tx *delivery.Transaction, ids identifiers, author string) outcome {
	o := outcome{ev: Evaluation{Time: c.clock(), HeaderFrom: author, Disposition: PolicyNone,
		DKIM: ids.dkim, SPF: ids.spf}}
	if tx.Conn != nil {
		o.ev.SourceIP = tx.Conn.IP
	}
	f, err := w.discover(ctx, author)
	switch {
	case err != nil:
		return o.temp(err)
	case f == nil:
		o.ev.Result, o.reason = authres.ResultNone, "no policy"
		return o
	case f.Err != nil:
		// RFC 7489 §11.2 permerror: "a syntactically incorrect DMARC record".
		o.ev.Result, o.reason = authres.ResultPermError, "invalid record at _dmarc."+f.Domain
		return o
	}
	o.ev.PolicyDomain, o.ev.Record = f.Domain, *f.Record
	dkim, spf, err := w.alignment(ctx, author, f.Record, ids)
	o.ev.DKIMAligned, o.ev.SPFAligned = dkim, spf
	if err != nil {
		return o.temp(err)
	}
	o.ev.Result = authres.ResultPass
	if !dkim && !spf {
		p, err := c.policy(ctx, w, author, f)
		if err != nil {
			return o.temp(err)
		}
		o.ev.Result = authres.ResultFail
		o.ev.Disposition, o.ev.Override = c.dispose(p, f.Record)
		if tx.TrustedForwarder != "" && o.ev.Disposition != PolicyNone {
			// RFC 8617 §7.2, RFC 7489 §7.2 (PolicyOverrideType
			// "trusted_forwarder"): a forwarder we trust vouched for the
			// message in a valid ARC chain.
			o.ev.Disposition, o.ev.Override = PolicyNone, "trusted_forwarder"
		}
	}
	o.reason = reason(o.ev)
	return o
}

// temp makes o a temperror: DMARCbis §5.3.6, a message whose DNS queries
// did not complete "cannot be considered to pass or fail".
func (o outcome) temp(err error) outcome {
	o.ev.Result, o.ev.Disposition, o.err = authres.ResultTempError, PolicyNone, err
	o.reason = "DNS failure"
	if errors.Is(err, errAlignedTemp) {
		o.reason = "temporary SPF or DKIM error"
	}
	return o
}

// policy is the policy that applies to author under the record found:
// p at the policy domain, sp or np below it (DMARCbis §4.10.1). Whether
// the author domain exists is asked only when np is there to matter.
func (c *Check) policy(ctx context.Context, w *walker, author string, f *found) (Policy, error) {
	sub := f.Domain != author
	if !sub || f.Record.NonexistentPolicy == "" {
		return f.Record.policyFor(sub, false), nil
	}
	ok, err := w.exists(ctx, author)
	return f.Record.policyFor(true, !ok), err
}

// dispose is what to do with a message that fails under policy p, and
// why it is weaker than p when it is: t=y applies the policy one level
// below (DMARCbis §4.7), and so does a message left out by pct (RFC 7489
// §6.6.4: reject becomes quarantine, quarantine becomes none).
func (c *Check) dispose(p Policy, rec *Record) (Policy, string) {
	d, why := p, ""
	switch {
	case p == PolicyNone:
		return PolicyNone, ""
	case rec.Testing:
		d, why = p.weaker(), "policy_test_mode"
	case rec.Percent < 100 && !c.sampled(rec.Percent):
		d, why = p.weaker(), "sampled_out"
	}
	if !c.Enforce && d != PolicyNone {
		return PolicyNone, "local_policy"
	}
	return d, why
}

func (c *Check) sampled(pct int) bool {
	if c.sample != nil {
		return c.sample(pct)
	}
	return rand.IntN(100) < pct
}

func (c *Check) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// reason is the comment of the Authentication-Results entry, after the
// style of the big receivers: "p=reject sp=quarantine dis=none".
func reason(ev Evaluation) string {
	r := ev.Record
	s := fmt.Sprintf("p=%s sp=%s", r.Policy, r.policyFor(true, false))
	if r.NonexistentPolicy != "" {
		s += " np=" + string(r.NonexistentPolicy)
	}
	s += " dis=" + string(ev.Disposition)
	if ev.Override != "" {
		s += " override=" + ev.Override
	}
	if ev.PolicyDomain != ev.HeaderFrom {
		s += " policy.domain=" + ev.PolicyDomain
	}
	return s
}

// record hands a pass or fail under a policy record to the Recorder.
func (c *Check) record(ctx context.Context, ev Evaluation) {
	if c.Recorder == nil || ev.PolicyDomain == "" ||
		(ev.Result != authres.ResultPass && ev.Result != authres.ResultFail) {
		return
	}
	if err := c.Recorder.RecordDMARC(ctx, ev); err != nil && c.Log != nil {
		c.Log.Warn("dmarc: recording the evaluation failed", "from", ev.HeaderFrom, "err", err)
	}
}

// verdict joins the outcomes: every result is recorded; the strictest
// disposition applies (RFC 7489 §6.6.1 for several author domains); a
// DNS failure, unless the message is refused anyway, is returned when
// TempfailOnDNSError is set.
func (c *Check) verdict(outs []outcome) (delivery.Verdict, error) {
	var v delivery.Verdict
	var strictest *outcome
	var errs []error
	for i, o := range outs {
		v.Results = append(v.Results, &authres.DMARCResult{Value: o.ev.Result, From: o.ev.HeaderFrom, Reason: o.reason})
		if strictest == nil || o.ev.Disposition.strength() > strictest.ev.Disposition.strength() {
			strictest = &outs[i]
		}
		errs = append(errs, o.err)
	}
	switch strictest.ev.Disposition {
	case PolicyReject:
		// RFC 7489 §10.3 / DMARCbis §7.2: reject in the SMTP session,
		// saying "DMARC" in the reply.
		v.Reply = mail.Errorf(550, [3]int{5, 7, 1}, "The DMARC policy of %s rejects this message: nothing authenticates %s as its author",
			strictest.ev.PolicyDomain, strictest.ev.HeaderFrom)
		return v, nil
	case PolicyQuarantine:
		v.Folder = JunkFolder
	}
	if err := errors.Join(errs...); err != nil && c.TempfailOnDNSError {
		return v, err
	}
	return v, nil
}
