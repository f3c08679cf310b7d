package queue

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"
	"github.com/miekg/dns"
)

// chainFor makes a private CA and a leaf for host signed by it; the
// server config sends both.
func chainFor(t *testing.T, host string) (*tls.Config, *x509.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test TA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der, caDER}, PrivateKey: key}}}, ca
}

// DANE-TA (usage 2): a TLSA record for a private CA in the chain makes a
// leaf it signed for the MX name acceptable, no public CA involved.
func TestDANETrustAnchor(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	b := newSite(t, "b.test", "bob")
	conf, ca := chainFor(t, "mx.b.test")
	b.serveMX(conf)
	sum := sha256.Sum256(ca.Raw)
	name := "_" + strconv.Itoa(b.port()) + "._tcp.mx.b.test."
	tlsa := &dns.TLSA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTLSA, Class: dns.ClassINET, Ttl: 300},
		Usage: 2, Selector: 0, MatchingType: 1, Certificate: hex.EncodeToString(sum[:])}
	dnsAddr := dnsServer(t, map[string]mockdns.Zone{
		"b.test.":    {AD: true, MX: []net.MX{{Host: "mx.b.test.", Pref: 10}}},
		"mx.b.test.": {A: []string{"127.0.0.1"}},
		name:         {AD: true, Misc: map[dns.Type][]dns.RR{dns.Type(dns.TypeTLSA): {tlsa}}},
	})
	a.startRunner(dnsAddr, func(o *Options) { o.Port = b.port() })
	a.send("alice@a.test", []string{"bob@b.test"}, testMessage("alice@a.test", "bob@b.test", "danets"), nil)
	b.waitInbox("bob", 1)
}
