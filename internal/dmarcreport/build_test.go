package dmarcreport

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenReport is a report over two days of example.test's rows: a pass
// counted on both days (one record), a rejected failure, a message
// sampled out and one in test mode.
func goldenReport(t *testing.T) *Report {
	e := newEnv(t)
	const txt = "v=DMARC1; p=reject; sp=quarantine; adkim=s; pct=50; rua=mailto:dmarc@example.test"
	sampled := failing(t, "example.test", txt, "198.51.100.7", 5)
	sampled.Disposition, sampled.Override = "quarantine", "sampled_out"
	testing := failing(t, "mail.example.test", txt, "2001:db8::25", 6)
	testing.PolicyDomain, testing.Disposition, testing.Override = "example.test", "quarantine", "policy_test_mode"
	e.record(evaluation(t, "example.test", txt, "192.0.2.1", 1), evaluation(t, "example.test", txt, "192.0.2.1", 2),
		evaluation(t, "example.test", txt, "192.0.2.1", 30), failing(t, "example.test", txt, "203.0.113.5", 3),
		sampled, testing)
	rows, err := e.store.DMARCRecords(context.Background(), day, day.AddDate(0, 0, 2))
	must(t, err)
	r, err := newReport("mx.example.test", "postmaster@example.test", rows)
	must(t, err)
	r.ID, r.Boundary, r.MessageID = "1796601600.0123456789abcdef@mx.example.test", "b0undary", "m1@mx.example.test"
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (go test -update rewrites it):\n%s", path, got)
	}
}

// The document has the structure of RFC 7489 Appendix C, as the golden
// file shows, and reads back through ParseReport.
func TestReportXML(t *testing.T) {
	r := goldenReport(t)
	doc, err := r.XML()
	must(t, err)
	golden(t, "report.xml", doc)
	f, err := ParseReport(bytes.NewReader(doc))
	must(t, err)
	if len(f.Records) != 4 || f.Records[0].Row.Count != 3 || f.Policy.SP != "quarantine" || f.Policy.Pct != "50" {
		t.Fatalf("read back: %+v", f)
	}
	if got := r.Filename(); got != "mx.example.test!example.test!1796601600!1796774399.xml.gz" {
		t.Fatalf("file name %q (RFC 7489 §7.2.1.1: receiver!policy-domain!begin!end.xml.gz)", got)
	}
	if got := r.Subject(); got != "Report Domain: example.test Submitter: mx.example.test Report-ID: <"+r.ID+">" {
		t.Fatalf("subject %q", got)
	}
	gz, err := r.Gzip()
	must(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	must(t, err)
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, doc) || zr.Name != strings.TrimSuffix(r.Filename(), ".gz") {
		t.Fatalf("the gzip holds %d bytes named %q", len(plain), zr.Name)
	}
}

// The message is multipart/mixed with the gzip attachment, golden.
func TestReportMessage(t *testing.T) {
	r := goldenReport(t)
	gz := []byte("not really gzip, fixed for the golden file")
	msg := r.Message("dmarc@example.test", gz, time.Date(2026, 12, 9, 1, 0, 0, 0, time.UTC))
	golden(t, "report.eml", msg)
}
