// Package dkim is the inbound DKIM check (RFC 6376, Ed25519 keys per RFC
// 8463) on github.com/emersion/go-msgauth: every signature of a received
// message is verified, up to MaxSignatures, and each gets its own result
// for Authentication-Results (RFC 8601 §2.7.1) and for DMARC.
package dkim

import (
	"context"
	"errors"
	"io"

	"github.com/emersion/go-msgauth/authres"
	msgdkim "github.com/emersion/go-msgauth/dkim"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
)

// MaxSignatures bounds the signatures verified in one message (RFC 6376
// §6.1 lets a verifier limit them): each costs a DNS query and a
// public-key operation, and a hostile message could carry hundreds.
const MaxSignatures = 8

// Check verifies DKIM signatures at the end of DATA.
type Check struct {
	Resolver dns.Resolver
}

var _ delivery.DataCheck = (*Check)(nil)

// Name implements delivery.Check.
func (c *Check) Name() string { return "dkim" }

// Data implements delivery.DataCheck. It never refuses and never fails:
// a key that cannot be fetched is a temperror result, one that does not
// exist or a broken signature a permerror, a mismatch a fail; what to do
// about them is DMARC's business.
func (c *Check) Data(ctx context.Context, tx *delivery.Transaction, msg *delivery.Message) (delivery.Verdict, error) {
	b, err := msg.Open(ctx)
	if err != nil {
		return delivery.Verdict{}, err
	}
	defer b.Close()
	return delivery.Verdict{Results: c.Verify(ctx, b)}, nil
}

// Verify checks the signatures of the message r and returns one result
// per signature, or one "none" result when there is none.
func (c *Check) Verify(ctx context.Context, r io.Reader) []authres.Result {
	opts := &msgdkim.VerifyOptions{MaxVerifications: MaxSignatures,
		LookupTXT: func(name string) ([]string, error) { return c.Resolver.LookupTXT(ctx, name) }}
	verifs, err := msgdkim.VerifyWithOptions(r, opts)
	if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) {
		// The header could not be read as a message header at all.
		return []authres.Result{&authres.DKIMResult{Value: authres.ResultPermError, Reason: err.Error()}}
	}
	if len(verifs) == 0 {
		return []authres.Result{&authres.DKIMResult{Value: authres.ResultNone}}
	}
	out := make([]authres.Result, 0, len(verifs))
	for _, v := range verifs {
		out = append(out, result(v))
	}
	return out
}

func result(v *msgdkim.Verification) *authres.DKIMResult {
	r := &authres.DKIMResult{Value: authres.ResultPass, Domain: v.Domain, Identifier: v.Identifier}
	switch {
	case v.Err == nil:
	case msgdkim.IsTempFail(v.Err):
		r.Value, r.Reason = authres.ResultTempError, v.Err.Error()
	case msgdkim.IsPermFail(v.Err):
		r.Value, r.Reason = authres.ResultPermError, v.Err.Error()
	default:
		r.Value, r.Reason = authres.ResultFail, v.Err.Error()
	}
	return r
}
