// Package tlsutil loads the server's certificate, or creates and keeps a
// self-signed one when none is configured (the development instance).
package tlsutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// SelfSigned returns PEM certificate and key for hosts (names or IPs),
// valid for ten years.
func SelfSigned(hosts ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"Facteur self-signed"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
		// An address is a DNS name too: mbsync (isync) and fetchmail
		// compare the host they were given with the DNS names and the
		// common name only, so "127.0.0.1" must be among them.
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

// LoadOrCreate loads certFile/keyFile; when both are empty it uses
// dir/selfsigned.{crt,key}, creating them for hostname on first use. The
// boolean tells whether the certificate is self-signed. The config
// serves the certificate through a Certs, which reads the files again
// when they change.
func LoadOrCreate(certFile, keyFile, dir, hostname string) (*tls.Config, bool, error) {
	c, self, err := Open(certFile, keyFile, dir, hostname)
	if err != nil {
		return nil, false, err
	}
	return c.Config(), self, nil
}

// Open is LoadOrCreate returning the Certs, for the caller to Reload.
func Open(certFile, keyFile, dir, hostname string) (*Certs, bool, error) {
	selfSigned := certFile == "" && keyFile == ""
	if selfSigned {
		certFile, keyFile = filepath.Join(dir, "selfsigned.crt"), filepath.Join(dir, "selfsigned.key")
		if err := ensureSelfSigned(certFile, keyFile, hostname); err != nil {
			return nil, false, err
		}
	}
	c := &Certs{certFile: certFile, keyFile: keyFile, now: time.Now}
	if _, err := c.Reload(); err != nil {
		return nil, false, err
	}
	return c, selfSigned, nil
}

// certCheck is how often, at most, a handshake looks whether the
// certificate file changed (renewed by certbot or another ACME client).
const certCheck = 30 * time.Second

// Certs is a certificate and key read from files, read again by Reload
// and, when the certificate file's modification time changes, by the
// next handshake at least certCheck after the last look. A file that
// cannot be read keeps the certificate in use.
type Certs struct {
	certFile, keyFile string
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	mod     time.Time // of certFile when read
	checked time.Time
}

// Config is the server TLS configuration serving c (TLS 1.2 and up).
func (c *Certs) Config() *tls.Config {
	return &tls.Config{GetCertificate: c.GetCertificate, MinVersion: tls.VersionTLS12}
}

// GetCertificate implements tls.Config.GetCertificate.
func (c *Certs) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	due := c.now().Sub(c.checked) >= certCheck
	if due {
		c.checked = c.now()
	}
	c.mu.Unlock()
	if due {
		if fi, err := os.Stat(c.certFile); err == nil && !fi.ModTime().Equal(c.modTime()) {
			c.Reload() // on failure the old certificate stays
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert, nil
}

func (c *Certs) modTime() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mod
}

// Reload reads the files again; changed reports whether the certificate
// differs from the one in use. On error the one in use stays.
func (c *Certs) Reload() (changed bool, err error) {
	fi, err := os.Stat(c.certFile)
	if err != nil {
		return false, fmt.Errorf("tls: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return false, fmt.Errorf("tls: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	changed = c.cert == nil || !slices.EqualFunc(c.cert.Certificate, cert.Certificate, bytes.Equal)
	c.cert, c.mod = &cert, fi.ModTime()
	return changed, nil
}

// selfSignedHosts are the names of the development certificate: the
// hostname and every name and address the development instance listens on.
func selfSignedHosts(hostname string) []string {
	return []string{hostname, "localhost", "127.0.0.1", "::1"}
}

// ensureSelfSigned creates the self-signed certificate, or creates it
// again when the one there does not name every host (made by an older
// version, or for another hostname).
func ensureSelfSigned(certFile, keyFile, hostname string) error {
	ok, err := namesAll(certFile, selfSignedHosts(hostname))
	if err != nil || ok {
		return err
	}
	c, k, err := SelfSigned(selfSignedHosts(hostname)...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, c, 0o600) // under the data dir, private like the rest
}

// namesAll reports whether the certificate in file names every host as a
// DNS name; false, with no error, when the file does not exist.
func namesAll(file string, hosts []string) (bool, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return false, nil
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return false, nil
	}
	for _, h := range hosts {
		if !slices.Contains(cert.DNSNames, h) {
			return false, nil
		}
	}
	return true, nil
}
