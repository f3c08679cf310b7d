package store

import (
	"context"
	"time"
)

// DMARCRecord is one row of the DMARC evaluations kept for the aggregate
// reports this server sends (RFC 7489 §7.2): the messages of one UTC day
// that share every reported field, counted. A flood of identical mail is
// one row with a large Count.
type DMARCRecord struct {
	// Day is the UTC day of the evaluations; the store truncates it.
	Day          time.Time
	PolicyDomain string // where the policy record was found
	HeaderFrom   string // the RFC5322.From domain
	SourceIP     string // the SMTP client, in netip.Addr's text form
	// Disposition is none, quarantine or reject (policy_evaluated);
	// Override the reason it is weaker than the policy, "" for none.
	Disposition string
	Override    string
	DKIMAligned bool // policy_evaluated dkim=pass
	SPFAligned  bool // policy_evaluated spf=pass
	// DKIM are the auth_results of each signature; their order does not
	// make another row (the store sorts them).
	DKIM []DMARCAuth
	SPF  DMARCAuth
	// Record is the published policy record in DMARC syntax
	// (policy_published and the rua it is sent to). It is not part of the
	// row's key: adding to a row keeps the record of its latest
	// evaluation (by LastSeen).
	Record   string
	Count    int64
	LastSeen time.Time // the latest evaluation counted in the row
}

// DMARCAuth is one authentication result of a DMARCRecord: a DKIM
// signature (Domain, Selector, Result) or SPF (Domain, Scope, Result).
type DMARCAuth struct {
	Domain   string
	Selector string
	Scope    string
	Result   string
}

// DMARCReport is an aggregate report received from another reporter
// about one of our domains (RFC 7489 Appendix C, the fields an
// administrator reads).
type DMARCReport struct {
	Org      string // report_metadata org_name
	Email    string // report_metadata email
	ReportID string // report_metadata report_id
	Domain   string // policy_published domain
	// Begin and End are the date_range, End inclusive as reporters write it.
	Begin, End time.Time
	Received   time.Time
	Rows       []DMARCReportRow
}

// DMARCReportRow is one record of a received report.
type DMARCReportRow struct {
	SourceIP    string
	Count       int64
	Disposition string // none, quarantine, reject
	DKIM, SPF   string // policy_evaluated: pass or fail
	HeaderFrom  string
}

// Passed reports whether the row's messages passed DMARC: an aligned
// DKIM or SPF pass (RFC 7489 §6.6.2).
func (r DMARCReportRow) Passed() bool { return r.DKIM == "pass" || r.SPF == "pass" }

// DMARC keeps what DMARC aggregate reporting needs, both ways: the
// evaluations of inbound mail to report, and the reports others send
// about our domains.
type DMARC interface {
	// RecordDMARC adds each r.Count to the row whose key (every field
	// but Record, Count and LastSeen) is r's, or makes it: all of rs or
	// none, durable when it returns.
	RecordDMARC(ctx context.Context, rs ...DMARCRecord) error
	// DMARCRecords returns the rows whose Day is in [since, until), by
	// policy domain, then day, then header from and source IP.
	DMARCRecords(ctx context.Context, since, until time.Time) ([]DMARCRecord, error)
	// DeleteDMARCRecords removes the rows of policyDomain ("" for every
	// domain) whose Day is before before: what was reported, or what is
	// too old to be.
	DeleteDMARCRecords(ctx context.Context, policyDomain string, before time.Time) error

	// AddDMARCReport stores a received report with its rows; ErrExists
	// when a report with the same Org, ReportID and Domain is stored (a
	// report delivered or imported twice is counted once).
	AddDMARCReport(ctx context.Context, r DMARCReport) error
	// DMARCReports returns the reports about domain whose End is at or
	// after since, by Begin, each with its rows in the order stored.
	DMARCReports(ctx context.Context, domain string, since time.Time) ([]DMARCReport, error)
	// DeleteDMARCReports removes the reports whose End is before before.
	DeleteDMARCReports(ctx context.Context, before time.Time) error
}
