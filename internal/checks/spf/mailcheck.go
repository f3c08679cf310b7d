package spf

import (
	"context"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
)

// MailCheck runs SPF at MAIL FROM on the inbound pipeline and records
// the MAIL FROM result (with the HELO name it was checked with) for
// Authentication-Results (RFC 8601 §2.7.2) and DMARC. It refuses
// nothing: RFC 7489 §10.1 advises leaving an SPF fail to DMARC, which may
// still pass on an aligned DKIM signature.
type MailCheck struct {
	Checker *Checker
}

var _ delivery.MailCheck = (*MailCheck)(nil)

// Name implements delivery.Check.
func (m *MailCheck) Name() string { return "spf" }

// Mail implements delivery.MailCheck. Trusted clients are not checked.
func (m *MailCheck) Mail(ctx context.Context, tx *delivery.Transaction) (delivery.Verdict, error) {
	if tx.Conn.Trusted || !tx.Conn.IP.IsValid() {
		return delivery.Verdict{}, nil
	}
	mf, helo := m.Checker.Check(ctx, tx.Conn.IP, tx.Conn.Helo, tx.From)
	r := &authres.SPFResult{Value: authres.ResultValue(mf.Result), Reason: mf.Reason}
	if tx.From != "" {
		r.From = tx.From
	} else {
		r.Helo = helo.Domain // the null sender: HELO was the identity checked (RFC 7208 §2.4)
	}
	return delivery.Verdict{Results: []authres.Result{r}}, nil
}
