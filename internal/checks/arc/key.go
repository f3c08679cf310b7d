package arc

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"facteur.dev/facteur/internal/dns"
)

// tempError is a failure that may pass: a key that could not be fetched,
// a message that could not be read.
type tempError struct{ error }

// keyType is the key an a= algorithm needs: "rsa" for rsa-sha256 (RFC
// 6376 §3.3.1), "ed25519" for ed25519-sha256 (RFC 8463 §3). rsa-sha1 is
// refused (RFC 8301 §3.1).
func keyType(a string) (string, error) {
	switch strings.ToLower(a) {
	case "rsa-sha256":
		return "rsa", nil
	case "ed25519-sha256":
		return "ed25519", nil
	}
	return "", fmt.Errorf("unsupported algorithm a=%s (RFC 8301 §3.1, RFC 8463 §3)", a)
}

// validName reports whether s is a domain name, or a selector, that can
// be asked about: LDH labels (and "_"), 1 to 63 octets each, 253 in all.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// keys fetches public keys from DNS (RFC 6376 §3.6.2.2), each name once
// per message.
type keys struct {
	resolver dns.Resolver
	cache    map[string]keyAnswer
}

type keyAnswer struct {
	pub     crypto.PublicKey
	keyType string
	err     error
}

// get returns the key of selector s in domain d, which must be of type
// kt. A key that does not exist or cannot be used is an error; one that
// could not be fetched is a tempError.
func (k *keys) get(ctx context.Context, d, s, kt string) (crypto.PublicKey, error) {
	if !validName(d) || !validName(s) {
		return nil, fmt.Errorf("malformed d=%q or s=%q (RFC 6376 §3.5)", d, s)
	}
	name := strings.ToLower(s + "._domainkey." + d)
	if len(name) > 253 {
		return nil, fmt.Errorf("the key name %s is too long for DNS", name)
	}
	a, ok := k.cache[name]
	if !ok {
		a = k.fetch(ctx, name)
		k.cache[name] = a
	}
	if a.err != nil {
		return nil, a.err
	}
	if a.keyType != kt {
		return nil, fmt.Errorf("the key at %s is k=%s, the signature wants %s", name, a.keyType, kt)
	}
	return a.pub, nil
}

func (k *keys) fetch(ctx context.Context, name string) keyAnswer {
	txts, err := k.resolver.LookupTXT(ctx, name)
	switch {
	case dns.NotFound(err):
		return keyAnswer{err: fmt.Errorf("no key at %s", name)}
	case err != nil:
		return keyAnswer{err: tempError{fmt.Errorf("key %s unavailable: %v", name, err)}}
	case len(txts) != 1:
		// RFC 6376 §3.6.2.2: several records give undefined results.
		return keyAnswer{err: fmt.Errorf("%d key records at %s", len(txts), name)}
	}
	pub, kt, err := parseKey(txts[0])
	if err != nil {
		err = fmt.Errorf("key %s: %v", name, err)
	}
	return keyAnswer{pub: pub, keyType: kt, err: err}
}

// parseKey reads a key record (RFC 6376 §3.6.1; k=ed25519, RFC 8463 §4).
func parseKey(rec string) (crypto.PublicKey, string, error) {
	tags, err := parseTags(rec)
	switch {
	case err != nil:
		return nil, "", err
	case tags["v"] != "" && tags["v"] != "DKIM1":
		return nil, "", fmt.Errorf("v=%s is not DKIM1", tags["v"])
	case !listHas(tags["h"], "sha256"):
		return nil, "", fmt.Errorf("h=%s does not allow sha256", tags["h"])
	case !listHas(tags["s"], "email") && !listHas(tags["s"], "*"):
		return nil, "", fmt.Errorf("s=%s is not for email", tags["s"])
	}
	p, ok := tags["p"]
	if !ok || noSpace(p) == "" {
		return nil, "", errors.New("no p=, or an empty one: the key is revoked")
	}
	der, err := base64.StdEncoding.DecodeString(noSpace(p))
	if err != nil {
		return nil, "", fmt.Errorf("p=: %v", err)
	}
	kt := strings.ToLower(tags["k"])
	switch kt {
	case "", "rsa":
		pub, err := rsaKey(der)
		return pub, "rsa", err
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, "", fmt.Errorf("an Ed25519 key of %d bytes (RFC 8463 §4.2)", len(der))
		}
		return ed25519.PublicKey(der), "ed25519", nil
	}
	return nil, "", fmt.Errorf("unknown key type k=%s", kt)
}

// listHas reports whether a colon-separated tag value has v; an absent
// tag allows anything.
func listHas(list, v string) bool {
	if list == "" {
		return true
	}
	return slices.ContainsFunc(strings.Split(list, ":"), func(e string) bool {
		return strings.EqualFold(strings.TrimFunc(e, isWSP), v)
	})
}

// rsaKey reads an RSA key: SubjectPublicKeyInfo as RFC 6376 §3.6.1 says,
// or a bare RSAPublicKey as some publish; at least 1024 bits (RFC 8301
// §3.2).
func rsaKey(der []byte) (*rsa.PublicKey, error) {
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		pub, _ = k.(*rsa.PublicKey)
	} else if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		pub = k
	}
	if pub == nil {
		return nil, errors.New("p= is not an RSA public key")
	}
	if pub.N.BitLen() < 1024 {
		return nil, fmt.Errorf("an RSA key of %d bits, under 1024 (RFC 8301 §3.2)", pub.N.BitLen())
	}
	return pub, nil
}

// verifySig checks sig over the SHA-256 digest of the signed data:
// RSASSA-PKCS1-v1_5 (RFC 6376 §3.3.1) or Ed25519 of the digest (RFC 8463
// §3).
func verifySig(pub crypto.PublicKey, digest, sig []byte) error {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(p, crypto.SHA256, digest, sig) == nil {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(p, digest, sig) {
			return nil
		}
	}
	return errors.New("signature does not verify")
}
