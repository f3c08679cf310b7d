package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

	"github.com/emersion/go-msgauth/dkim"
)

// signer DKIM-signs each message (-dkim KEYFILE): for benchmarks of a
// receiver that verifies signatures. An Ed25519 key costs the sender
// tens of microseconds a message, an RSA key about a millisecond.
type signer struct {
	domain, selector string
	key              crypto.Signer
}

// loadSigner reads a PKCS #8 PEM private key.
func loadSigner(path, domain, selector string) (*signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cs, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", path)
	}
	return &signer{domain: domain, selector: selector, key: cs}, nil
}

// sign returns msg with a DKIM-Signature header field before it.
func (s *signer) sign(msg []byte) ([]byte, error) {
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{Domain: s.domain, Selector: s.selector, Signer: s.key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"}})
	return out.Bytes(), err
}
