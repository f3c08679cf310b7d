package dmarcreport

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// RFC 7489 §7.1: an address in the policy domain's organization needs
// no verification; any other needs the v=DMARC1 record at
// <policy-domain>._report._dmarc.<rua-domain>; a DNS failure is an
// error, not a no.
func TestAuthorized(t *testing.T) {
	e := newEnv(t)
	e.dns.Add(`_dmarc.a.test. 300 IN TXT "v=DMARC1; p=none; rua=mailto:d@reports.a.test,mailto:d@vendor.test"`,
		`a.test._report._dmarc.vendor.test. 300 IN TXT "v=DMARC1"`,
		`b.test._report._dmarc.vendor.test. 300 IN TXT "v=spf1 -all"`,
		`c.test._report._dmarc.vendor.test. 300 IN TXT "v = DMARC1 ; rua=mailto:x@vendor.test"`,
		`d.test._report._dmarc.vendor.test. 300 IN TXT "v=DMARC10"`)
	e.dns.Fail("e.test._report._dmarc.vendor.test.", mdns.RcodeServerFailure)
	ctx := context.Background()
	for _, tc := range []struct {
		policy, rua string
		want, err   bool
	}{
		{"a.test", "a.test", true, false},
		{"a.test", "reports.a.test", true, false}, // one Organizational Domain
		{"a.test", "vendor.test", true, false},    // verified
		{"b.test", "vendor.test", false, false},   // a TXT record, not DMARC's
		{"c.test", "vendor.test", true, false},    // white space around "="
		{"d.test", "vendor.test", false, false},   // not version 1
		{"x.test", "vendor.test", false, false},   // no record
		{"e.test", "vendor.test", false, true},    // SERVFAIL
	} {
		ok, err := Authorized(ctx, e.res, tc.policy, tc.rua)
		if ok != tc.want || (err != nil) != tc.err {
			t.Errorf("Authorized(%s, %s) = %v, %v; want %v, error %v", tc.policy, tc.rua, ok, err, tc.want, tc.err)
		}
	}
}

// attachment returns the report document of a delivered message.
func attachment(t *testing.T, msg string) *Feedback {
	t.Helper()
	doc, err := Extract(strings.NewReader(msg))
	must(t, err)
	f, err := ParseReport(bytes.NewReader(doc))
	must(t, err)
	return f
}

// Through a real pipeline: the report for a local rua lands in the
// mailbox with its gzip attachment; for a remote one (in the domain, or
// verified) it is queued with the null sender; an unverified one, one
// over its !size and a non-mailto URI are skipped; what was reported is
// deleted, today's rows stay.
func TestSendThroughThePipeline(t *testing.T) {
	e := newEnv(t)
	e.dns.Add(`example.test._report._dmarc.vendor.test. 300 IN TXT "v=DMARC1"`)
	alice := e.users[0]
	const many = "v=DMARC1; p=reject; rua=mailto:alice@example.test,mailto:reports@vendor.test,mailto:bob@example.test!10,https://r.test/"
	e.record(evaluation(t, "example.test", many, "192.0.2.1", 2),
		// An older policy: the report goes where the latest evaluation's says.
		failing(t, "example.test", "v=DMARC1; p=reject; rua=mailto:old@example.test", "192.0.2.2", 1),
		evaluation(t, "remote.test", "v=DMARC1; p=none; rua=mailto:dmarc@remote.test,mailto:x@unverified.test", "192.0.2.3", 4),
		evaluation(t, "example.test", "v=DMARC1; p=reject; rua=mailto:alice@example.test", "192.0.2.4", 25)) // tomorrow
	ctx := context.Background()
	now := day.AddDate(0, 0, 1).Add(90 * time.Minute) // 01:30 the day after

	dry, err := e.sender().Run(ctx, now, true)
	must(t, err)
	if len(dry) != 6 || dry[0].Status != "would send" || len(e.inbox(alice)) != 0 {
		t.Fatalf("dry run: %v, %d messages", dry, len(e.inbox(alice)))
	}
	outs, err := e.sender().Run(ctx, now, false)
	must(t, err)
	want := []string{
		"example.test 2026-12-07..2026-12-07: 2 records, 2 messages",
		"-> alice@example.test: sent",
		"-> reports@vendor.test: sent",
		"-> bob@example.test: skipped: ", "over the limit of 10",
		"-> (nobody): skipped: https://r.test/ is not a mailto: URI",
		"remote.test 2026-12-07..2026-12-07: 1 records, 1 messages",
		"-> dmarc@remote.test: sent",
		"-> x@unverified.test: skipped: unverified.test does not take reports for remote.test",
	}
	all := ""
	for _, o := range outs {
		all += o.String() + "\n"
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("outcomes lack %q:\n%s", w, all)
		}
	}

	got := e.inbox(alice)
	if len(got) != 1 || !strings.Contains(got[0], "Subject: Report Domain: example.test Submitter: mx.example.test Report-ID: <") ||
		!strings.Contains(got[0], "Content-Type: application/gzip; name=\"mx.example.test!example.test!1796601600!1796687999.xml.gz\"") {
		t.Fatalf("alice's INBOX: %q", got)
	}
	f := attachment(t, got[0])
	if f.Policy.Domain != "example.test" || len(f.Records) != 2 || f.Records[1].Row.PolicyEvaluated.Disposition != "reject" {
		t.Fatalf("the attached report: %+v", f)
	}
	q, err := e.store.ListQueue(ctx)
	must(t, err)
	if len(q) != 2 {
		t.Fatalf("%d queued, want vendor.test and remote.test: %+v", len(q), q)
	}
	for _, m := range q {
		if m.Sender != "" || len(m.Recipients) != 1 || (m.Domain != "vendor.test" && m.Domain != "remote.test") {
			t.Fatalf("queued %+v, want the null sender to one rua", m)
		}
	}
	left, err := e.store.DMARCRecords(ctx, day, day.AddDate(0, 0, 5))
	must(t, err)
	if len(left) != 1 || left[0].SourceIP != "192.0.2.4" {
		t.Fatalf("rows left: %+v, want only today's", left)
	}
}

// A DNS failure of the verification leaves the rows for the next run.
func TestSendKeepsRowsOnDNSFailure(t *testing.T) {
	e := newEnv(t)
	e.dns.Fail("example.test._report._dmarc.vendor.test.", mdns.RcodeServerFailure)
	e.record(evaluation(t, "example.test", "v=DMARC1; p=reject; rua=mailto:r@vendor.test", "192.0.2.1", 2))
	ctx := context.Background()
	outs, err := e.sender().Run(ctx, day.AddDate(0, 0, 1), false)
	must(t, err)
	if len(outs) != 1 || outs[0].Err == nil || !strings.Contains(outs[0].Status, "failed: external destination verification") {
		t.Fatalf("outcomes %v", outs)
	}
	if left, _ := e.store.DMARCRecords(ctx, day, day.AddDate(0, 0, 1)); len(left) != 1 {
		t.Fatalf("rows after a DNS failure: %+v", left)
	}
	// Past MaxRecordAge they go.
	if _, err := e.sender().Run(ctx, day.AddDate(0, 0, 9), false); err != nil {
		t.Fatal(err)
	}
	if left, _ := e.store.DMARCRecords(ctx, day, day.AddDate(0, 0, 1)); len(left) != 0 {
		t.Fatalf("rows older than MaxRecordAge kept: %+v", left)
	}
}

func TestNextRun(t *testing.T) {
	for _, tc := range []struct{ now, want string }{
		{"2026-12-07T00:30:00Z", "2026-12-07T01:00:00Z"},
		{"2026-12-07T01:00:00Z", "2026-12-08T01:00:00Z"},
		{"2026-12-07T23:59:00+02:00", "2026-12-08T01:00:00Z"},
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		if got := nextRun(now, 1).Format("2006-01-02T15:04:05Z07:00"); got != tc.want {
			t.Errorf("nextRun(%s) = %s, want %s", tc.now, got, tc.want)
		}
	}
}

// RunOnce writes the recorder's counts, sends, and forgets old received
// reports; Start and Stop leave no goroutine behind.
func TestDailyRunOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec := NewRecorder(e.store, nil)
	must(t, rec.RecordDMARC(ctx, evaluation(t, "example.test", "v=DMARC1; p=none; rua=mailto:alice@example.test", "192.0.2.1", 2)))
	old := dmarcReport("old.test", day.Add(-KeepReceived-48*time.Hour))
	must(t, e.store.AddDMARCReport(ctx, old))
	d := &Daily{Sender: e.sender(), Recorder: rec, Hour: 1}
	d.Start()
	d.Stop()
	d.RunOnce(ctx, day.AddDate(0, 0, 1).Add(time.Hour))
	if n := len(e.inbox(e.users[0])); n != 1 {
		t.Fatalf("%d reports in alice's INBOX, want 1", n)
	}
	if got, _ := e.store.DMARCReports(ctx, "example.test", time.Unix(0, 0)); len(got) != 0 {
		t.Fatalf("a received report older than KeepReceived kept: %+v", got)
	}
}
