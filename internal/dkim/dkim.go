// Package dkim signs outgoing mail of local domains (RFC 6376) with two
// keys per domain, Ed25519 (RFC 8463) and RSA-2048, through
// github.com/emersion/go-msgauth/dkim.
//
// Keys live in the data directory, one folder per domain, PKCS #8 PEM
// files readable only by the server's user:
//
//	data_dir/dkim/DOMAIN/ed25519.pem   selector "facteur-ed25519"
//	data_dir/dkim/DOMAIN/rsa.pem       selector "facteur-rsa"
package dkim

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/emersion/go-msgauth/dkim"
)

// The selectors of the two keys.
const (
	SelectorEd25519 = "facteur-ed25519"
	SelectorRSA     = "facteur-rsa"
)

// headerKeys are the signed header fields, RFC 6376 §5.4.1; From is
// signed twice so no second From can be added (§8.15).
var headerKeys = []string{"From", "From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
	"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}

// Keys signs with the keys under a data directory's dkim folder.
type Keys struct {
	dir string
	mu  sync.Mutex
	m   map[string][]key // domain → loaded keys (nil: none)
}

type key struct {
	selector string
	signer   crypto.Signer
}

// New returns the key set kept under dataDir/dkim.
func New(dataDir string) *Keys {
	return &Keys{dir: filepath.Join(dataDir, "dkim"), m: map[string][]key{}}
}

func (k *Keys) domainDir(domain string) string {
	return filepath.Join(k.dir, strings.ToLower(domain))
}

// Generate creates both keys for domain unless they exist.
func (k *Keys) Generate(domain string) error {
	d := k.domainDir(domain)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	for name, priv := range map[string]any{"ed25519.pem": edKey, "rsa.pem": rsaKey} {
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(d, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		err = pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	k.mu.Lock()
	delete(k.m, strings.ToLower(domain))
	k.mu.Unlock()
	return nil
}

// load reads domain's keys; none is not an error.
func (k *Keys) load(domain string) ([]key, error) {
	domain = strings.ToLower(domain)
	k.mu.Lock()
	defer k.mu.Unlock()
	if ks, ok := k.m[domain]; ok {
		return ks, nil
	}
	var out []key
	for _, f := range []struct{ file, sel string }{{"ed25519.pem", SelectorEd25519}, {"rsa.pem", SelectorRSA}} {
		data, err := os.ReadFile(filepath.Join(k.domainDir(domain), f.file))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		b, _ := pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("dkim: %s/%s: not PEM", domain, f.file)
		}
		priv, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("dkim: %s/%s: %w", domain, f.file, err)
		}
		out = append(out, key{selector: f.sel, signer: priv.(crypto.Signer)})
	}
	k.m[domain] = out
	return out, nil
}

// Key is one of a domain's signing keys, for other signatures that share
// its DNS record (an ARC seal, RFC 8617 §4.1.2 and §4.1.3, uses DKIM keys).
type Key struct {
	Selector string // SelectorEd25519 or SelectorRSA
	Signer   crypto.Signer
}

// Signers returns domain's keys, Ed25519 first; none is not an error.
func (k *Keys) Signers(domain string) ([]Key, error) {
	keys, err := k.load(domain)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(keys))
	for _, ky := range keys {
		out = append(out, Key{Selector: ky.selector, Signer: ky.signer})
	}
	return out, nil
}

// Sign implements delivery.Signer: one DKIM-Signature header per key of
// domain (Ed25519 first), relaxed/relaxed canonicalization.
func (k *Keys) Sign(ctx context.Context, domain string, msg io.Reader) (string, error) {
	keys, err := k.load(domain)
	if err != nil || len(keys) == 0 {
		return "", err
	}
	var signers []*dkim.Signer
	var ws []io.Writer
	for _, ky := range keys {
		s, err := dkim.NewSigner(&dkim.SignOptions{Domain: domain, Selector: ky.selector, Signer: ky.signer,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
			HeaderKeys: headerKeys})
		if err != nil {
			return "", err
		}
		signers = append(signers, s)
		ws = append(ws, s)
	}
	if _, err := io.Copy(io.MultiWriter(ws...), msg); err != nil {
		return "", err
	}
	var h strings.Builder
	for _, s := range signers {
		if err := s.Close(); err != nil {
			return "", err
		}
		h.WriteString(s.Signature())
	}
	return h.String(), nil
}

// Record is a DKIM key record to publish in DNS.
type Record struct {
	Name  string // "facteur-rsa._domainkey.example.com"
	Value string // "v=DKIM1; k=rsa; p=…"
}

// Records returns the TXT records for domain's keys (RFC 6376 §3.6.1).
func (k *Keys) Records(domain string) ([]Record, error) {
	keys, err := k.load(domain)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, ky := range keys {
		var kt string
		var pub []byte
		switch p := ky.signer.Public().(type) {
		case ed25519.PublicKey:
			kt, pub = "ed25519", p // RFC 8463 §4.2: the raw key
		case *rsa.PublicKey:
			kt = "rsa"
			if pub, err = x509.MarshalPKIXPublicKey(p); err != nil {
				return nil, err
			}
		default:
			continue
		}
		out = append(out, Record{Name: ky.selector + "._domainkey." + strings.ToLower(domain),
			Value: "v=DKIM1; k=" + kt + "; p=" + base64.StdEncoding.EncodeToString(pub)})
	}
	return out, nil
}
