package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
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
