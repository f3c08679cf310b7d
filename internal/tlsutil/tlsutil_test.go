package tlsutil

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The development certificate names the hostname and every address the
// development instance listens on, as DNS names too (mbsync and fetchmail
// look nowhere else), and a TLS client that trusts it verifies each; one
// made without them is made again.
func TestSelfSignedNamesEveryHost(t *testing.T) {
	dir := t.TempDir()
	crt := filepath.Join(dir, "selfsigned.crt")
	old, key, err := SelfSigned("mail.example.test")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(crt, old, 0o644)
	os.WriteFile(filepath.Join(dir, "selfsigned.key"), key, 0o600)
	cfg, self, err := LoadOrCreate("", "", dir, "mail.example.test")
	if err != nil || !self {
		t.Fatal(self, err)
	}
	data, _ := os.ReadFile(crt)
	block, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"mail.example.test", "localhost", "127.0.0.1", "::1"} {
		if !slices.Contains(cert.DNSNames, h) {
			t.Fatalf("DNS names %v lack %s", cert.DNSNames, h)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	for _, name := range []string{"mail.example.test", "localhost", "127.0.0.1"} {
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: name})
		if err != nil {
			t.Fatalf("verify as %s: %v", name, err)
		}
		c.Close()
	}

}

// A certificate renewed on disk is served by the next handshake at least
// certCheck later, and at once after Reload; a broken file keeps the one
// in use.
func TestCertsPickUpRenewal(t *testing.T) {
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	write := func(host string, mod time.Time) []byte {
		c, k, err := SelfSigned(host)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(crt, c, 0o644)
		os.WriteFile(key, k, 0o600)
		os.Chtimes(crt, mod, mod)
		block, _ := pem.Decode(c)
		return block.Bytes
	}
	now := time.Now()
	first := write("a.test", now.Add(-time.Hour))
	c, self, err := Open(crt, key, dir, "")
	if err != nil || self {
		t.Fatal(self, err)
	}
	clock := now
	c.now = func() time.Time { return clock }
	served := func() []byte {
		got, err := c.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return got.Certificate[0]
	}
	if !bytes.Equal(served(), first) {
		t.Fatal("not the certificate on disk")
	}
	second := write("b.test", now)
	if !bytes.Equal(served(), first) {
		t.Fatal("renewal picked up before certCheck")
	}
	clock = clock.Add(certCheck)
	if !bytes.Equal(served(), second) {
		t.Fatal("renewal not picked up after certCheck")
	}
	third := write("c.test", now.Add(time.Minute))
	if changed, err := c.Reload(); err != nil || !changed || !bytes.Equal(served(), third) {
		t.Fatalf("Reload: %v %v", changed, err)
	}
	os.WriteFile(crt, []byte("garbage"), 0o644)
	if _, err := c.Reload(); err == nil || !bytes.Equal(served(), third) {
		t.Fatalf("a broken file: %v, or the certificate in use changed", err)
	}
}
