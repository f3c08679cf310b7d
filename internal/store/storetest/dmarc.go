package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"facteur.dev/facteur/internal/store"
)

var dmarcDay = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

func dmarcRecord(at time.Time, ip string) store.DMARCRecord {
	return store.DMARCRecord{Day: at, PolicyDomain: "a.test", HeaderFrom: "a.test", SourceIP: ip,
		Disposition: "none", SPFAligned: true,
		DKIM:   []store.DMARCAuth{{Domain: "a.test", Selector: "s1", Result: "pass"}, {Domain: "b.test", Result: "fail"}},
		SPF:    store.DMARCAuth{Domain: "a.test", Scope: "mfrom", Result: "pass"},
		Record: "v=DMARC1; p=none; rua=mailto:d@a.test", Count: 1, LastSeen: at}
}

// testDMARCRecords checks the evaluations kept for aggregate reports:
// one row per UTC day and reported fields (DKIM results in any order),
// counts added, the latest record kept, ranges and deletion by domain.
func testDMARCRecords(t *testing.T, s store.Store) {
	ctx := context.Background()
	morning, evening := dmarcDay.Add(time.Hour), dmarcDay.Add(23*time.Hour)
	must(t, s.RecordDMARC(ctx, dmarcRecord(evening, "192.0.2.1")))
	early := dmarcRecord(morning, "192.0.2.1")
	early.DKIM[0], early.DKIM[1] = early.DKIM[1], early.DKIM[0]
	early.Record, early.Count = "v=DMARC1; p=reject; rua=mailto:old@a.test", 4
	must(t, s.RecordDMARC(ctx, early)) // older: counted, its record not kept
	failed := dmarcRecord(morning, "192.0.2.1")
	failed.Disposition, failed.SPFAligned, failed.DKIM = "reject", false, nil
	other := dmarcRecord(morning, "2001:db8::1")
	other.PolicyDomain, other.HeaderFrom = "c.test", "mail.c.test"
	// Several at once, one the day before.
	must(t, s.RecordDMARC(ctx, failed, dmarcRecord(dmarcDay.Add(-time.Hour), "192.0.2.1"), other))
	must(t, s.RecordDMARC(ctx))

	got, err := s.DMARCRecords(ctx, dmarcDay, dmarcDay.AddDate(0, 0, 1))
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("%d rows for the day, want 3 (a.test pass, a.test reject, c.test): %+v", len(got), got)
	}
	pass, rej, c := got[0], got[1], got[2]
	if pass.Disposition == "reject" {
		pass, rej = rej, pass
	}
	if pass.Count != 5 || !pass.Day.Equal(dmarcDay) || len(pass.DKIM) != 2 || pass.SPF.Scope != "mfrom" || !pass.SPFAligned {
		t.Fatalf("aggregated row %+v", pass)
	}
	if pass.Record != "v=DMARC1; p=none; rua=mailto:d@a.test" || !pass.LastSeen.Equal(evening) {
		t.Fatalf("the row kept record %q seen %v, want the latest evaluation's", pass.Record, pass.LastSeen)
	}
	if rej.Count != 1 || rej.SPFAligned || len(rej.DKIM) != 0 {
		t.Fatalf("failed row %+v", rej)
	}
	if c.PolicyDomain != "c.test" || c.HeaderFrom != "mail.c.test" || c.SourceIP != "2001:db8::1" {
		t.Fatalf("rows not ordered by policy domain, or c.test's changed: %+v", c)
	}

	must(t, s.DeleteDMARCRecords(ctx, "a.test", dmarcDay.AddDate(0, 0, 1)))
	left, err := s.DMARCRecords(ctx, time.Unix(0, 0), dmarcDay.AddDate(0, 0, 2))
	must(t, err)
	if len(left) != 1 || left[0].PolicyDomain != "c.test" {
		t.Fatalf("after deleting a.test's rows: %+v", left)
	}
	must(t, s.DeleteDMARCRecords(ctx, "", dmarcDay))
	if left, _ := s.DMARCRecords(ctx, time.Unix(0, 0), dmarcDay.AddDate(0, 0, 2)); len(left) != 1 {
		t.Fatalf("deleting before the day removed the day's rows: %+v", left)
	}
	must(t, s.DeleteDMARCRecords(ctx, "", dmarcDay.AddDate(0, 0, 1)))
	if left, _ := s.DMARCRecords(ctx, time.Unix(0, 0), dmarcDay.AddDate(0, 0, 2)); len(left) != 0 {
		t.Fatalf("rows left after deleting every domain's: %+v", left)
	}
}

func dmarcReport(org, id string, begin time.Time) store.DMARCReport {
	return store.DMARCReport{Org: org, Email: "noreply@" + org, ReportID: id, Domain: "example.test",
		Begin: begin, End: begin.Add(24*time.Hour - time.Second), Received: begin.Add(30 * time.Hour),
		Rows: []store.DMARCReportRow{
			{SourceIP: "192.0.2.1", Count: 7, Disposition: "none", DKIM: "pass", SPF: "fail", HeaderFrom: "example.test"},
			{SourceIP: "198.51.100.9", Count: 2, Disposition: "reject", DKIM: "fail", SPF: "fail", HeaderFrom: "example.test"},
		}}
}

// testDMARCReports checks the received reports: stored once per
// (org, report ID, domain), read back with their rows by domain and
// date, deleted by age with their rows.
func testDMARCReports(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := dmarcReport("google.test", "r1", dmarcDay)
	must(t, s.AddDMARCReport(ctx, first))
	if err := s.AddDMARCReport(ctx, first); !errors.Is(err, store.ErrExists) {
		t.Fatalf("the same report again: %v, want ErrExists", err)
	}
	must(t, s.AddDMARCReport(ctx, dmarcReport("yahoo.test", "r1", dmarcDay.AddDate(0, 0, -1))))
	later := dmarcReport("google.test", "r2", dmarcDay.AddDate(0, 0, 1))
	later.Rows = nil
	must(t, s.AddDMARCReport(ctx, later))
	elsewhere := dmarcReport("google.test", "r1", dmarcDay)
	elsewhere.Domain = "other.test"
	must(t, s.AddDMARCReport(ctx, elsewhere))

	got, err := s.DMARCReports(ctx, "example.test", dmarcDay.AddDate(0, 0, -1))
	must(t, err)
	if len(got) != 3 || got[0].Org != "yahoo.test" || got[1].ReportID != "r1" || got[2].ReportID != "r2" {
		t.Fatalf("reports %+v", got)
	}
	r := got[1]
	if !r.Begin.Equal(first.Begin) || !r.End.Equal(first.End) || r.Email != first.Email || len(r.Rows) != 2 ||
		r.Rows[0] != first.Rows[0] || r.Rows[1] != first.Rows[1] || len(got[2].Rows) != 0 {
		t.Fatalf("report read back as %+v, want %+v", r, first)
	}
	if !r.Rows[0].Passed() || r.Rows[1].Passed() {
		t.Fatal("Passed: a DKIM pass is a pass, nothing aligned is a failure")
	}
	if got, _ := s.DMARCReports(ctx, "example.test", dmarcDay.Add(24*time.Hour)); len(got) != 1 || got[0].ReportID != "r2" {
		t.Fatalf("since the next day: %+v", got)
	}
	must(t, s.DeleteDMARCReports(ctx, dmarcDay.AddDate(0, 0, 1)))
	if got, _ := s.DMARCReports(ctx, "example.test", time.Unix(0, 0)); len(got) != 1 || got[0].ReportID != "r2" {
		t.Fatalf("after deleting the older reports: %+v", got)
	}
	must(t, s.AddDMARCReport(ctx, first)) // gone, so it may come again
}
