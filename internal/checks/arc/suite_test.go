package arc

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
	mdns "github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/dns/dnstest"
)

// The test data follows the format of the ARC test suite
// (arc-draft-validation-tests.yml, arc-draft-sign-tests.yml): YAML
// documents, each with its tests, the TXT records they need and the
// signing key, messages with LF line ends that the tests turn into CRLF.
// Extensions are described at the top of each file.

type validationDoc struct {
	Description string                    `yaml:"description"`
	Tests       map[string]validationCase `yaml:"tests"`
	TXTRecords  map[string]string         `yaml:"txt-records"`
}

type validationCase struct {
	Spec        string   `yaml:"spec"`
	Description string   `yaml:"description"`
	Message     string   `yaml:"message"`
	CV          string   `yaml:"cv"`
	OldestPass  int      `yaml:"oldest-pass"`
	DNSFail     []string `yaml:"dns-fail"`
}

type signDoc struct {
	Description string              `yaml:"description"`
	Tests       map[string]signCase `yaml:"tests"`
	TXTRecords  map[string]string   `yaml:"txt-records"`
	Domain      string              `yaml:"domain"`
	Sel         string              `yaml:"sel"`
	PrivateKey  string              `yaml:"privatekey"`
}

type signCase struct {
	Spec        string `yaml:"spec"`
	Description string `yaml:"description"`
	Message     string `yaml:"message"`
	T           int64  `yaml:"t"`
	SigHeaders  string `yaml:"sig-headers"`
	SrvID       string `yaml:"srv-id"`
	AAR         string `yaml:"AAR"`
	AMS         string `yaml:"AMS"`
	AS          string `yaml:"AS"`
}

// readDocs reads every YAML document of a testdata file.
func readDocs[T any](t *testing.T, name string) []T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var docs []T
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var d T
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		docs = append(docs, d)
	}
}

// crlf turns the LF line ends of a test message into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// checker returns a Check asking a loopback DNS server that serves recs
// and answers SERVFAIL for the names in fail.
func checker(t testing.TB, recs map[string]string, fail []string) *Check {
	t.Helper()
	srv := dnstest.New(t)
	for name, v := range recs {
		srv.Add(dnstest.TXT(name, v))
	}
	for _, name := range fail {
		srv.Fail(name, mdns.RcodeServerFailure)
	}
	return &Check{Resolver: dns.New(srv.Addr())}
}

func TestValidationSuite(t *testing.T) {
	for _, file := range []string{"arc-validation-tests.yml", "arc-dkimpy-tests.yml"} {
		for _, doc := range readDocs[validationDoc](t, file) {
			for name, tc := range doc.Tests {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					c := checker(t, doc.TXTRecords, tc.DNSFail)
					got := c.Verify(context.Background(), strings.NewReader(crlf(tc.Message)))
					if !strings.EqualFold(string(got.Value), tc.CV) || got.OldestPass != tc.OldestPass {
						t.Fatalf("%s (%s)\ngot %s oldest-pass=%d (%s), want %s oldest-pass=%d",
							tc.Description, tc.Spec, got.Value, got.OldestPass, got.Reason, tc.CV, tc.OldestPass)
					}
					if got.Value == authres.ResultPass && (len(got.Sealers) != got.Instances || len(got.AuthResults) != got.Instances) {
						t.Fatalf("pass with %d instances, sealers %v, AARs %v", got.Instances, got.Sealers, got.AuthResults)
					}
				})
			}
		}
	}
}

func TestSignSuite(t *testing.T) {
	for _, doc := range readDocs[signDoc](t, "arc-sign-tests.yml") {
		key := parseKeyPEM(t, doc.PrivateKey)
		for name, tc := range doc.Tests {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				msg := crlf(tc.Message)
				aar, ams, as := runSign(t, checker(t, doc.TXTRecords, nil), doc, key, tc, msg)
				for _, f := range []struct{ name, got, want string }{
					{nameAAR, aar, tc.AAR}, {nameAMS, ams, tc.AMS}, {nameAS, as, tc.AS}} {
					if !sameField(f.name, f.got, f.want) {
						t.Errorf("%s:\ngot  %s\nwant %s", f.name, f.got, f.want)
					}
				}
			})
		}
	}
}

// runSign seals msg as tc says and returns the values of the three new
// fields, checking on the way that the sealed message validates.
func runSign(t testing.TB, c *Check, doc signDoc, key crypto.Signer, tc signCase, msg string) (aar, ams, as string) {
	t.Helper()
	s := &Sealer{AuthServID: tc.SrvID, Domain: doc.Domain, Selector: doc.Sel, Key: key}
	if tc.SigHeaders != "" {
		s.Headers = strings.Split(tc.SigHeaders, ":")
	}
	chain := c.Verify(context.Background(), strings.NewReader(msg))
	h, err := s.Seal(strings.NewReader(msg), chain, ownResults(t, msg, tc.SrvID), time.Unix(tc.T, 0))
	if err != nil {
		t.Fatal(err)
	}
	if after := c.Verify(context.Background(), strings.NewReader(h+msg)); chain.Value != authres.ResultFail && after.Value != authres.ResultPass {
		t.Fatalf("the sealed message does not validate: %+v", after)
	}
	for _, f := range headerOf(t, h) {
		switch f.name {
		case nameAAR:
			aar = f.value()
		case nameAMS:
			ams = f.value()
		case nameAS:
			as = f.value()
		}
	}
	return aar, ams, as
}

// ownResults are the results of the message's Authentication-Results
// fields of srvID, as the sign tests take them.
func ownResults(t testing.TB, msg, srvID string) []authres.Result {
	var out []authres.Result
	for _, f := range headerOf(t, msg) {
		if !strings.EqualFold(f.name, "Authentication-Results") {
			continue
		}
		id, rs, err := authres.Parse(unfold(f.value()))
		if err == nil && id == srvID {
			out = append(out, rs...)
		}
	}
	return out
}

func headerOf(t testing.TB, msg string) []field {
	t.Helper()
	h, err := readHeader(bufio.NewReader(strings.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// sameField compares two field values: the AAR's text with its white
// space made single spaces, signatures tag by tag with white space removed
// from the values (b=, bh= and h= may be folded) and h= names in any case.
func sameField(name, got, want string) bool {
	if name == nameAAR {
		return unfold(got) == unfold(want)
	}
	gt, err1 := parseTags(got)
	wt, err2 := parseTags(want)
	if err1 != nil || err2 != nil || len(gt) != len(wt) {
		return false
	}
	for k, v := range wt {
		g, w := noSpace(gt[k]), noSpace(v)
		if g != w && !(k == "h" && strings.EqualFold(g, w)) {
			return false
		}
	}
	return true
}

func parseKeyPEM(t testing.TB, s string) crypto.Signer {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatal("privatekey: not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}
