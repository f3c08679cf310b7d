package arc

import (
	"context"
	"crypto/rsa"
	"errors"
	"io"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dkim"
)

// KeySource gives a domain's signing keys (internal/dkim.Keys).
type KeySource interface {
	Signers(domain string) ([]dkim.Key, error)
}

// ForwardSealer seals the mail Facteur forwards to remote alias targets
// (delivery.ForwardSealer): one ARC set (RFC 8617 §5.1) in the name of
// the alias's domain with its RSA key (which every ARC validator knows;
// Ed25519 in ARC is not), carrying the results of our inbound checks, so
// the next hop can trust them though SPF and DKIM may fail there.
type ForwardSealer struct {
	Check      *Check // verifies the chain the message came with
	Keys       KeySource
	AuthServID string
	Now        func() time.Time
}

var _ delivery.ForwardSealer = (*ForwardSealer)(nil)

// SealForward implements delivery.ForwardSealer: "" when the domain has
// no key or the chain must not be sealed again.
func (f *ForwardSealer) SealForward(ctx context.Context, msg *delivery.Message, results []authres.Result, domain string) (string, error) {
	key, ok, err := f.rsaKey(domain)
	if err != nil || !ok {
		return "", err
	}
	b, err := msg.Open(ctx)
	if err != nil {
		return "", err
	}
	defer b.Close()
	chain := f.Check.Verify(ctx, io.NewSectionReader(b, 0, b.Size()))
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	s := &Sealer{AuthServID: f.AuthServID, Domain: domain, Selector: key.Selector, Key: key.Signer}
	h, err := s.Seal(io.NewSectionReader(b, 0, b.Size()), chain, results, now)
	if errors.Is(err, ErrChainFailed) || errors.Is(err, ErrChainFull) {
		return "", nil // forwarded as it is (RFC 8617 §5.1)
	}
	return h, err
}

// rsaKey is the domain's RSA key, else its first one.
func (f *ForwardSealer) rsaKey(domain string) (dkim.Key, bool, error) {
	keys, err := f.Keys.Signers(domain)
	if err != nil || len(keys) == 0 {
		return dkim.Key{}, false, err
	}
	for _, k := range keys {
		if _, ok := k.Signer.(*rsa.PrivateKey); ok {
			return k, true, nil
		}
	}
	return keys[0], true, nil
}
