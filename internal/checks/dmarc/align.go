package dmarc

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
)

// identifiers are the results of SPF and DKIM that earlier checks
// recorded in the transaction: what DMARC aligns with the author domain.
type identifiers struct {
	spf  SPFAuth
	dkim []DKIMAuth
}

// identifiersOf reads tx.Results: the first SPF result, and every DKIM
// result (one per signature).
func identifiersOf(tx *delivery.Transaction) identifiers {
	var ids identifiers
	ids.spf.Result = authres.ResultNone
	seenSPF := false
	for _, r := range tx.Results {
		switch r := r.(type) {
		case *authres.SPFResult:
			if !seenSPF {
				ids.spf, seenSPF = spfAuth(tx, r), true
			}
		case *authres.DKIMResult:
			ids.dkim = append(ids.dkim, DKIMAuth{Domain: domainOf(r.Domain), Result: r.Value})
		}
	}
	if !seenSPF {
		ids.spf.Domain, ids.spf.Scope = domainOf(tx.From), "mfrom"
	}
	return ids
}

// spfAuth is the SPF-Authenticated Identifier candidate: the MAIL FROM
// domain, or for the null reverse-path the HELO domain that SPF checked
// as postmaster@<HELO> (RFC 7208 §2.4; DMARCbis §3.2.4).
func spfAuth(tx *delivery.Transaction, r *authres.SPFResult) SPFAuth {
	from := r.From
	if from == "" {
		from = tx.From
	}
	if from != "" {
		return SPFAuth{Domain: domainOf(from), Scope: "mfrom", Result: r.Value}
	}
	helo := r.Helo
	if helo == "" && tx.Conn != nil {
		helo = tx.Conn.Helo
	}
	return SPFAuth{Domain: domainOf(helo), Scope: "helo", Result: r.Value}
}

// domainOf is the domain of an address or a domain, in A-labels, or the
// input lower-cased when it is not a valid domain (it then aligns with
// nothing).
func domainOf(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Trim(s, "<> ")
	if d, err := normalizeDomain(s); err == nil {
		return d
	}
	return strings.ToLower(s)
}

// aligned reports whether the identifier id is in alignment with the
// author domain (RFC 7489 §3.1, DMARCbis §4.4): identical in strict
// mode, with the same Organizational Domain in relaxed mode.
func (w *walker) aligned(ctx context.Context, author, id string, mode Alignment) (bool, error) {
	if id == author {
		return true, nil
	}
	if mode == Strict || id == "" {
		return false, nil
	}
	org, err := w.orgDomain(ctx, author)
	if err != nil {
		return false, err
	}
	// An organizational domain is its name or an ancestor of it, so only
	// names at or under the author's can share it: others need no walk.
	if id != org && !strings.HasSuffix(id, "."+org) {
		return false, nil
	}
	idOrg, err := w.orgDomain(ctx, id)
	return idOrg == org, err
}

// alignment is the alignment of the identifiers with the author domain
// under rec. err is set only when nothing aligned passed but could have:
// a DNS failure while looking for organizational domains, or an SPF or
// DKIM temperror on an identifier that is aligned, which leaves the
// DMARC result open (RFC 7489 §6.6.2, last paragraphs). A temperror on
// an unaligned identifier does not count: it could never have passed
// DMARC, and the sender controls it.
func (w *walker) alignment(ctx context.Context, author string, rec *Record, ids identifiers) (dkim, spf bool, err error) {
	var errs []error
	for _, d := range ids.dkim {
		ok, e := w.alignedAs(ctx, author, d.Domain, d.Result, rec.DKIMAlignment)
		dkim = dkim || ok
		errs = append(errs, e)
	}
	spf, e := w.alignedAs(ctx, author, ids.spf.Domain, ids.spf.Result, rec.SPFAlignment)
	if dkim || spf {
		return dkim, spf, nil
	}
	return false, false, errors.Join(append(errs, e)...)
}

// errAlignedTemp is an aligned identifier whose SPF or DKIM check failed
// temporarily.
var errAlignedTemp = errors.New("dmarc: an aligned identifier had a temporary error")

// alignedAs is one identifier's part in alignment: whether it passed and
// is aligned, or errAlignedTemp when it is aligned and had a temperror.
func (w *walker) alignedAs(ctx context.Context, author, id string, res authres.ResultValue, mode Alignment) (bool, error) {
	if res != authres.ResultPass && res != authres.ResultTempError {
		return false, nil
	}
	ok, err := w.aligned(ctx, author, id, mode)
	switch {
	case err != nil:
		return false, err
	case ok && res == authres.ResultTempError:
		return false, errAlignedTemp
	}
	return ok && res == authres.ResultPass, nil
}
