package dmarc

import (
	"context"
	"net/netip"
	"time"

	"github.com/emersion/go-msgauth/authres"
)

// Evaluation is what one DMARC evaluation found, as an aggregate report
// needs it (RFC 7489 §7.2 and Appendix C: a row of the report with its
// policy_published, policy_evaluated and auth_results).
type Evaluation struct {
	Time         time.Time
	SourceIP     netip.Addr // the SMTP client; invalid for a non-IP peer
	HeaderFrom   string     // the author domain, A-labels
	PolicyDomain string     // where Record was found
	Record       Record     // the published policy: p, sp, np, adkim, aspf, pct, t, psd, rua…
	Result       authres.ResultValue
	// Disposition is what was done with the message: none, quarantine
	// or reject. Override says why it is weaker than the policy:
	// "policy_test_mode" (t=y), "sampled_out" (pct), "local_policy"
	// (the check does not enforce), or "".
	Disposition Policy
	Override    string
	DKIMAligned bool
	SPFAligned  bool
	DKIM        []DKIMAuth
	SPF         SPFAuth
}

// DKIMAuth is one DKIM signature's result.
type DKIMAuth struct {
	Domain string // d=
	// Selector is s=; "" because the DKIM check's authres.DKIMResult does
	// not carry it.
	Selector string
	Result   authres.ResultValue
}

// SPFAuth is the SPF result DMARC used.
type SPFAuth struct {
	Domain string // the MAIL FROM domain, or the HELO domain for the null sender
	Scope  string // "mfrom" or "helo"
	Result authres.ResultValue
}

// Recorder keeps evaluations for aggregate reports. RecordDMARC is called
// once per author domain that has a policy record and got a pass or fail
// (evaluations without a record have nobody to report to).
type Recorder interface {
	RecordDMARC(ctx context.Context, ev Evaluation) error
}
