package dmarcreport

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"reflect"
	"testing"
	"time"
)

// FuzzParseReport: ParseReport never panics, and what it accepts, written
// out again, is accepted as the same report.
func FuzzParseReport(f *testing.F) {
	golden, err := os.ReadFile("testdata/report.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(feedbackXML("example.test", 2)))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><feedback><report_metadata><org_name>r</org_name>` +
		`<report_id>1</report_id><date_range><begin>1</begin><end>2</end></date_range></report_metadata>` +
		`<policy_published><domain>a.test</domain></policy_published></feedback>`))
	f.Add([]byte("<feedback>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fb, err := ParseReport(bytes.NewReader(data))
		if err != nil {
			return
		}
		at := time.Unix(1, 0)
		want := fb.StoreReport(at)
		if len(want.Rows) != len(fb.Records) {
			t.Fatalf("%d rows of %d records", len(want.Rows), len(fb.Records))
		}
		out, err := xml.Marshal(fb)
		if err != nil {
			t.Fatalf("accepted but cannot be written: %v", err)
		}
		again, err := ParseReport(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("accepted %q, written as %q, refused: %v", data, out, err)
		}
		if got := again.StoreReport(at); !reflect.DeepEqual(got, want) {
			t.Fatalf("accepted %q as %+v, written and read again as %+v", data, want, got)
		}
	})
}

// FuzzExtract: Extract never panics and never returns more than
// MaxReportSize bytes, whatever the message, its MIME structure or its
// attachment (gzip, zip, anything).
func FuzzExtract(f *testing.F) {
	doc := []byte(feedbackXML("example.test", 1))
	f.Add([]byte(reportMessage("application/gzip", "r.xml.gz", gzipped(doc))))
	f.Add([]byte(reportMessage("application/zip", "r.zip", zipped([]string{"r.xml"}, func(_ int, w io.Writer) { w.Write(doc) }))))
	f.Add([]byte(reportMessage("text/xml", "r.xml", doc)))
	f.Add([]byte("Content-Type: application/gzip\r\n\r\n\x1f\x8b"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Extract(bytes.NewReader(data))
		if err == nil && len(doc) > MaxReportSize {
			t.Fatalf("%d bytes extracted", len(doc))
		}
	})
}
