package dmarcreport

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

func dmarcReport(org string, begin time.Time) store.DMARCReport {
	return store.DMARCReport{Org: org, ReportID: "1", Domain: "example.test", Begin: begin, End: begin.Add(time.Hour),
		Rows: []store.DMARCReportRow{{SourceIP: "192.0.2.1", Count: 1, Disposition: "none", DKIM: "pass", SPF: "pass"}}}
}

// A report made by our own Sender, delivered to a local rua, is stored
// by the pipeline's copy filter and kept as a message; importing the
// mailbox again finds it stored already.
func TestImportOwnReport(t *testing.T) {
	e := newEnv(t)
	im := &Importer{Store: e.store}
	e.pipe.SetCopyFilters(im)
	e.record(evaluation(t, "example.test", "v=DMARC1; p=reject; rua=mailto:alice@example.test", "192.0.2.1", 2),
		evaluation(t, "example.test", "v=DMARC1; p=reject; rua=mailto:alice@example.test", "192.0.2.1", 3),
		failing(t, "example.test", "v=DMARC1; p=reject; rua=mailto:alice@example.test", "203.0.113.9", 4))
	ctx := context.Background()
	if _, err := e.sender().Run(ctx, day.AddDate(0, 0, 1), false); err != nil {
		t.Fatal(err)
	}
	if n := len(e.inbox(e.users[0])); n != 1 {
		t.Fatalf("%d messages in alice's INBOX, want the report", n)
	}
	reports, err := e.store.DMARCReports(ctx, "example.test", day)
	must(t, err)
	if len(reports) != 1 || reports[0].Org != "mx.example.test" || reports[0].Email != "postmaster@example.test" ||
		!reports[0].Begin.Equal(day) || len(reports[0].Rows) != 2 {
		t.Fatalf("stored reports %+v", reports)
	}
	sum := Summarize(reports)
	want := []DaySummary{{Day: day, SourceIP: "192.0.2.1", Org: "mx.example.test", Pass: 2},
		{Day: day, SourceIP: "203.0.113.9", Org: "mx.example.test", Fail: 1}}
	if fmt.Sprint(sum) != fmt.Sprint(want) {
		t.Fatalf("Summarize = %v, want %v", sum, want)
	}
	res, err := im.ImportMailbox(ctx, "alice@example.test", "INBOX")
	must(t, err)
	if len(res) != 1 || !errors.Is(res[0].Err, store.ErrExists) || !strings.HasPrefix(res[0].Subject, "Report Domain: example.test") {
		t.Fatalf("import of the mailbox: %+v", res)
	}
}

// reportMessage is a report-like message with one attachment.
func reportMessage(ctype, name string, body []byte) string {
	enc := base64.StdEncoding.EncodeToString(body)
	var lines []string
	for len(enc) > 76 {
		lines, enc = append(lines, enc[:76]), enc[76:]
	}
	lines = append(lines, enc)
	return "From: <noreply@reporter.test>\r\nTo: <alice@example.test>\r\n" +
		"Subject: Report Domain: example.test Submitter: reporter.test Report-ID: <9>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nreport\r\n" +
		"--b\r\nContent-Type: " + ctype + "\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + strings.Join(lines, "\r\n") + "\r\n--b--\r\n"
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func zipped(names []string, body func(i int, w io.Writer)) []byte {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for i, n := range names {
		w, _ := zw.Create(n)
		body(i, w)
	}
	zw.Close()
	return out.Bytes()
}

// feedbackXML is a valid report about domain with n records; edit
// changes the text before it is returned.
func feedbackXML(domain string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0"?><feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0"><report_metadata>`+
		`<org_name>reporter.test</org_name><email>noreply@reporter.test</email><report_id>r-%d</report_id>`+
		`<date_range><begin>1796601600</begin><end>1796687999</end></date_range></report_metadata>`+
		`<policy_published><domain>%s</domain><p>reject</p><sp>reject</sp></policy_published>`, n, domain)
	for range n {
		b.WriteString(`<record><row><source_ip>192.0.2.1</source_ip><count>2</count><policy_evaluated>` +
			`<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>` +
			`<identifiers><header_from>example.test</header_from></identifiers><extension/></record>`)
	}
	b.WriteString(`</feedback>`)
	return b.String()
}

func zeros(n int) []byte { return make([]byte, n) }

// Every kind of bad input gets its own clear error from Import, and
// delivered through the pipeline with the filter the message is kept
// as an ordinary message.
func TestImportBadInput(t *testing.T) {
	good := feedbackXML("example.test", 1)
	full := gzipped([]byte(good))
	many := make([]string, MaxZipEntries+1)
	for i := range many {
		many[i] = fmt.Sprintf("r%d.xml", i)
	}
	nested := "From: <x@reporter.test>\r\nSubject: Report Domain: example.test\r\nMIME-Version: 1.0\r\n"
	for i := range 20 {
		nested += fmt.Sprintf("Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	nested += "Content-Type: application/gzip\r\n\r\nx\r\n"
	for i := 19; i >= 0; i-- {
		nested += fmt.Sprintf("--b%d--\r\n", i)
	}
	cases := []struct {
		name, msg string
		want      error  // errors.Is, or nil
		text      string // in the error otherwise
	}{
		{"plain text", "From: <x@reporter.test>\r\nSubject: Report Domain: example.test\r\n\r\nhello\r\n", ErrNotReport, ""},
		{"not XML", reportMessage("text/xml", "r.xml", []byte("this is <not xml")), nil, "XML"},
		{"truncated gzip", reportMessage("application/gzip", "r.xml.gz", full[:len(full)/2]), nil, "gzip: unexpected EOF"},
		{"gzip bomb", reportMessage("application/gzip", "r.xml.gz", gzipped(zeros(MaxReportSize+1))), ErrTooLarge, ""},
		{"zip with many entries", reportMessage("application/zip", "r.zip",
			zipped(many, func(int, io.Writer) {})), ErrTooManyEntries, ""},
		{"zip bomb", reportMessage("application/zip", "r.zip", zipped([]string{"r.xml"},
			func(_ int, w io.Writer) { w.Write(zeros(MaxReportSize + 1)) })), ErrTooLarge, ""},
		{"zip without xml", reportMessage("application/zip", "r.zip", zipped([]string{"a.txt", "b.txt"},
			func(int, io.Writer) {})), nil, "no .xml entry"},
		{"wrong root", reportMessage("text/xml", "r.xml", []byte("<rss><channel/></rss>")), ErrSchema, ""},
		{"no report_id", reportMessage("text/xml", "r.xml", []byte(strings.Replace(good, "<report_id>r-1</report_id>", "", 1))), ErrSchema, ""},
		{"bad source_ip", reportMessage("text/xml", "r.xml", []byte(strings.Replace(good, "192.0.2.1", "not-an-ip", 1))), ErrSchema, ""},
		{"bad count", reportMessage("text/xml", "r.xml", []byte(strings.Replace(good, "<count>2", "<count>two", 1))), nil, "XML <record>"},
		{"truncated XML", reportMessage("text/xml", "r.xml", []byte(good[:len(good)-20])), nil, "XML"},
		{"too many rows", reportMessage("application/gzip", "r.xml.gz", gzipped([]byte(feedbackXML("example.test", MaxRows+1)))), ErrTooManyRows, ""},
		{"not our domain", reportMessage("text/xml", "r.xml", []byte(feedbackXML("elsewhere.test", 1))), ErrNotOurs, ""},
		{"deep MIME", nested, ErrTooManyParts, ""},
	}
	e := newEnv(t)
	im := &Importer{Store: e.store}
	e.pipe.SetCopyFilters(im)
	ctx := context.Background()
	for i, tc := range cases {
		_, err := im.Import(ctx, strings.NewReader(tc.msg))
		switch {
		case err == nil:
			t.Errorf("%s: imported", tc.name)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		case tc.want == nil && !strings.Contains(err.Error(), tc.text):
			t.Errorf("%s: %v, want an error about %q", tc.name, err, tc.text)
		}
		must(t, e.pipe.SendReport(ctx, "alice@example.test", []byte(tc.msg)))
		if n := len(e.inbox(e.users[0])); n != i+1 {
			t.Fatalf("%s: %d messages in INBOX after %d deliveries", tc.name, n, i+1)
		}
	}
	if got, _ := e.store.DMARCReports(ctx, "example.test", time.Unix(0, 0)); len(got) != 0 {
		t.Fatalf("bad input stored: %+v", got)
	}
	// The good one, zipped, as some reporters send it: stored once.
	zipMsg := reportMessage("application/zip", "r.zip", zipped([]string{"r.xml"}, func(_ int, w io.Writer) { io.WriteString(w, good) }))
	must(t, e.pipe.SendReport(ctx, "alice@example.test", []byte(zipMsg)))
	if _, err := im.Import(ctx, strings.NewReader(zipMsg)); !errors.Is(err, store.ErrExists) {
		t.Fatalf("the zipped report again: %v, want ErrExists", err)
	}
	if got, _ := e.store.DMARCReports(ctx, "example.test", time.Unix(0, 0)); len(got) != 1 || got[0].Rows[0].Count != 2 {
		t.Fatalf("zipped report: %+v", got)
	}
}

// A document in another charset than UTF-8 is read through its
// declaration.
func TestParseReportCharset(t *testing.T) {
	doc := []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><feedback><report_metadata><org_name>caf` + "\xe9" +
		`</org_name><report_id>1</report_id><date_range><begin>1</begin><end>2</end></date_range></report_metadata>` +
		`<policy_published><domain>example.test</domain></policy_published></feedback>`)
	f, err := ParseReport(bytes.NewReader(doc))
	must(t, err)
	if f.Metadata.OrgName != "café" {
		t.Fatalf("org_name %q", f.Metadata.OrgName)
	}
}
