package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"time"

	"facteur.dev/facteur/internal/store"
)

var _ store.DMARC = (*Store)(nil)

// migrationDMARC: DMARC aggregate reports (dmarc.go). dmarc_records
// counts the evaluations of inbound mail per UTC day and reported
// fields, for the reports this server sends (RFC 7489 §7.2); the key is
// every reported field, so identical mail adds to one row. dmarc_reports
// and dmarc_report_rows hold the reports received about our domains.
const migrationDMARC = `
CREATE TABLE dmarc_records (
	policy_domain TEXT NOT NULL,
	day           INTEGER NOT NULL,
	header_from   TEXT NOT NULL,
	source_ip     TEXT NOT NULL,
	disposition   TEXT NOT NULL,
	override      TEXT NOT NULL,
	dkim_aligned  INTEGER NOT NULL,
	spf_aligned   INTEGER NOT NULL,
	dkim          TEXT NOT NULL,
	spf_domain    TEXT NOT NULL,
	spf_scope     TEXT NOT NULL,
	spf_result    TEXT NOT NULL,
	record        TEXT NOT NULL,
	count         INTEGER NOT NULL,
	last_seen     INTEGER NOT NULL,
	PRIMARY KEY (policy_domain, day, header_from, source_ip, disposition, override,
		dkim_aligned, spf_aligned, dkim, spf_domain, spf_scope, spf_result)
) WITHOUT ROWID;
CREATE INDEX dmarc_records_day ON dmarc_records (day);
CREATE TABLE dmarc_reports (
	id         INTEGER PRIMARY KEY,
	org        TEXT NOT NULL,
	email      TEXT NOT NULL,
	report_id  TEXT NOT NULL,
	domain     TEXT NOT NULL,
	date_begin INTEGER NOT NULL,
	date_end   INTEGER NOT NULL,
	received   INTEGER NOT NULL,
	UNIQUE (org, report_id, domain)
);
CREATE INDEX dmarc_reports_domain ON dmarc_reports (domain, date_end);
CREATE TABLE dmarc_report_rows (
	report      INTEGER NOT NULL REFERENCES dmarc_reports(id) ON DELETE CASCADE,
	source_ip   TEXT NOT NULL,
	count       INTEGER NOT NULL,
	disposition TEXT NOT NULL,
	dkim        TEXT NOT NULL,
	spf         TEXT NOT NULL,
	header_from TEXT NOT NULL
);
CREATE INDEX dmarc_report_rows_report ON dmarc_report_rows (report);
`

const (
	qDMARCRecord = `INSERT INTO dmarc_records (policy_domain, day, header_from, source_ip, disposition, override,
	dkim_aligned, spf_aligned, dkim, spf_domain, spf_scope, spf_result, record, count, last_seen)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT DO UPDATE SET count = count + excluded.count,
		record = CASE WHEN excluded.last_seen >= last_seen THEN excluded.record ELSE record END,
		last_seen = max(last_seen, excluded.last_seen)`
	qDMARCRecords = `SELECT policy_domain, day, header_from, source_ip, disposition, override,
	dkim_aligned, spf_aligned, dkim, spf_domain, spf_scope, spf_result, record, count, last_seen
	FROM dmarc_records WHERE day >= ? AND day < ?
	ORDER BY policy_domain, day, header_from, source_ip, disposition, dkim`
	qDMARCReportInsert = `INSERT INTO dmarc_reports (org, email, report_id, domain, date_begin, date_end, received)
	VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`
	qDMARCReportRowInsert = `INSERT INTO dmarc_report_rows (report, source_ip, count, disposition, dkim, spf, header_from)
	VALUES (?, ?, ?, ?, ?, ?, ?)`
	qDMARCReports = `SELECT id, org, email, report_id, domain, date_begin, date_end, received
	FROM dmarc_reports WHERE domain = ? AND date_end >= ? ORDER BY date_begin, id`
	qDMARCReportRows = `SELECT source_ip, count, disposition, dkim, spf, header_from
	FROM dmarc_report_rows WHERE report = ? ORDER BY rowid`
)

// utcDay is the start of t's UTC day, in Unix seconds.
func utcDay(t time.Time) int64 {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
}

// dkimAuth is one DKIM result in the dkim column's JSON.
type dkimAuth struct {
	Domain   string `json:"d"`
	Selector string `json:"s,omitempty"`
	Result   string `json:"r"`
}

// encodeDKIM is the canonical text of a row's DKIM results: sorted, so
// that the order of the signatures makes no other row.
func encodeDKIM(auths []store.DMARCAuth) string {
	s := make([]dkimAuth, 0, len(auths))
	for _, a := range auths {
		s = append(s, dkimAuth{a.Domain, a.Selector, a.Result})
	}
	slices.SortFunc(s, func(a, b dkimAuth) int {
		return cmp.Or(cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Selector, b.Selector), cmp.Compare(a.Result, b.Result))
	})
	b, _ := json.Marshal(s) // plain strings: cannot fail
	return string(b)
}

func decodeDKIM(text string) ([]store.DMARCAuth, error) {
	var s []dkimAuth
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return nil, err
	}
	var out []store.DMARCAuth
	for _, a := range s {
		out = append(out, store.DMARCAuth{Domain: a.Domain, Selector: a.Selector, Result: a.Result})
	}
	return out, nil
}

// RecordDMARC implements store.DMARC: every row in one savepoint.
func (s *Store) RecordDMARC(ctx context.Context, rs ...store.DMARCRecord) error {
	if len(rs) == 0 {
		return nil
	}
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, r := range rs {
			if _, err := s.txExec(ctx, tx, qDMARCRecord, r.PolicyDomain, utcDay(r.Day), r.HeaderFrom, r.SourceIP,
				r.Disposition, r.Override, r.DKIMAligned, r.SPFAligned, encodeDKIM(r.DKIM),
				r.SPF.Domain, r.SPF.Scope, r.SPF.Result, r.Record, r.Count, unixOrZero(r.LastSeen)); err != nil {
				return err
			}
		}
		return nil
	})
}

// DMARCRecords implements store.DMARC.
func (s *Store) DMARCRecords(ctx context.Context, since, until time.Time) ([]store.DMARCRecord, error) {
	rows, err := s.query(ctx, qDMARCRecords, since.Unix(), until.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.DMARCRecord
	for rows.Next() {
		var r store.DMARCRecord
		var day, last int64
		var dkim string
		if err := rows.Scan(&r.PolicyDomain, &day, &r.HeaderFrom, &r.SourceIP, &r.Disposition, &r.Override,
			&r.DKIMAligned, &r.SPFAligned, &dkim, &r.SPF.Domain, &r.SPF.Scope, &r.SPF.Result,
			&r.Record, &r.Count, &last); err != nil {
			return nil, err
		}
		r.Day, r.LastSeen = time.Unix(day, 0).UTC(), time.Unix(last, 0)
		if r.DKIM, err = decodeDKIM(dkim); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteDMARCRecords implements store.DMARC.
func (s *Store) DeleteDMARCRecords(ctx context.Context, policyDomain string, before time.Time) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM dmarc_records WHERE day < ? AND (? = '' OR policy_domain = ?)",
			before.Unix(), policyDomain, policyDomain)
		return err
	})
}

// AddDMARCReport implements store.DMARC: the report and its rows in one
// savepoint.
func (s *Store) AddDMARCReport(ctx context.Context, r store.DMARCReport) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var id int64
		err := s.txQueryRow(ctx, tx, qDMARCReportInsert, r.Org, r.Email, r.ReportID, r.Domain,
			r.Begin.Unix(), r.End.Unix(), unixOrZero(r.Received)).Scan(&id)
		if err != nil {
			return uniqueErr(err)
		}
		for _, row := range r.Rows {
			if _, err := s.txExec(ctx, tx, qDMARCReportRowInsert, id, row.SourceIP, row.Count,
				row.Disposition, row.DKIM, row.SPF, row.HeaderFrom); err != nil {
				return err
			}
		}
		return nil
	})
}

// DMARCReports implements store.DMARC.
func (s *Store) DMARCReports(ctx context.Context, domain string, since time.Time) ([]store.DMARCReport, error) {
	rows, err := s.query(ctx, qDMARCReports, domain, since.Unix())
	if err != nil {
		return nil, err
	}
	var out []store.DMARCReport
	var ids []int64
	for rows.Next() {
		var r store.DMARCReport
		var id, begin, end, received int64
		if err := rows.Scan(&id, &r.Org, &r.Email, &r.ReportID, &r.Domain, &begin, &end, &received); err != nil {
			rows.Close()
			return nil, err
		}
		r.Begin, r.End, r.Received = time.Unix(begin, 0).UTC(), time.Unix(end, 0).UTC(), time.Unix(received, 0)
		out, ids = append(out, r), append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, id := range ids {
		if out[i].Rows, err = s.dmarcReportRows(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) dmarcReportRows(ctx context.Context, report int64) ([]store.DMARCReportRow, error) {
	rows, err := s.query(ctx, qDMARCReportRows, report)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.DMARCReportRow
	for rows.Next() {
		var r store.DMARCReportRow
		if err := rows.Scan(&r.SourceIP, &r.Count, &r.Disposition, &r.DKIM, &r.SPF, &r.HeaderFrom); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteDMARCReports implements store.DMARC; the rows go with their
// report (ON DELETE CASCADE).
func (s *Store) DeleteDMARCReports(ctx context.Context, before time.Time) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM dmarc_reports WHERE date_end < ?", before.Unix())
		return err
	})
}
