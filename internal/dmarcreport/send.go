package dmarcreport

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/store"
)

// MaxRecordAge is how long rows that could not be reported (a DNS or
// delivery failure) are kept for the next runs.
const MaxRecordAge = 7 * 24 * time.Hour

// Pipeline delivers a whole message with the null sender; *delivery.Pipeline
// is one (SendReport: a local mailbox or the outbound queue).
type Pipeline interface {
	SendReport(ctx context.Context, to string, report []byte) error
}

var _ Pipeline = (*delivery.Pipeline)(nil)

// Sender builds and sends the aggregate reports of the rows stored.
type Sender struct {
	Store    store.DMARC
	Pipeline Pipeline
	Resolver dns.Resolver    // for the external destination verification
	Signer   delivery.Signer // DKIM for the From domain; nil: unsigned
	Hostname string          // org_name, Submitter and the file name's receiver
	Email    string          // report_metadata email and From
	Log      *slog.Logger
}

// Outcome is what a run did (or, dry, would do) with one report for one
// destination.
type Outcome struct {
	Domain     string
	Begin, End time.Time
	Records    int   // report records
	Messages   int64 // messages counted
	To         string
	Size       int    // the gzipped document's size
	Status     string // "sent", "would send", or "skipped: why" / "failed: why"
	Err        error  // with "failed": worth another try
}

// String is the outcome in one line, as `facteur dmarc send` prints it:
// "a.test 2026-12-06..2026-12-07: 3 records, 12 messages, 512 bytes -> d@a.test: sent".
func (o Outcome) String() string {
	to := o.To
	if to == "" {
		to = "(nobody)"
	}
	return fmt.Sprintf("%s %s..%s: %d records, %d messages, %d bytes -> %s: %s", o.Domain,
		o.Begin.UTC().Format(time.DateOnly), o.End.UTC().Format(time.DateOnly), o.Records, o.Messages, o.Size, to, o.Status)
}

// Run reports every row of the days before until's UTC day: one report
// per policy domain to each of its destinations. Unless dry, a domain's
// rows are then deleted, except when no destination got the report
// because of a failure that may pass (DNS, delivery): those stay for the
// next runs, up to MaxRecordAge.
func (s *Sender) Run(ctx context.Context, until time.Time, dry bool) ([]Outcome, error) {
	end := until.UTC().Truncate(24 * time.Hour)
	rows, err := s.Store.DMARCRecords(ctx, time.Unix(0, 0), end)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, group := range rowsByDomain(rows) {
		outs, retry := s.report(ctx, group, time.Now(), dry)
		out = append(out, outs...)
		if dry || (retry && end.Sub(group[0].Day) <= MaxRecordAge) {
			continue
		}
		if err := s.Store.DeleteDMARCRecords(ctx, group[0].PolicyDomain, end); err != nil {
			return out, err
		}
	}
	return out, nil
}

// report sends one domain's report; retry says that no destination got
// it and one failed for a reason that may pass.
func (s *Sender) report(ctx context.Context, rows []store.DMARCRecord, now time.Time, dry bool) ([]Outcome, bool) {
	base := Outcome{Domain: rows[0].PolicyDomain, Begin: rows[0].Day, End: rows[len(rows)-1].Day}
	r, err := newReport(s.Hostname, s.Email, rows)
	if err != nil {
		base.Status, base.Err = "skipped: "+err.Error(), err
		return []Outcome{base}, false
	}
	f := r.Feedback()
	base.Records, base.Messages = len(f.Records), r.Messages()
	gz, err := r.Gzip()
	if err != nil {
		base.Status, base.Err = "failed: "+err.Error(), err
		return []Outcome{base}, true
	}
	base.Size = len(gz)
	dests := mailtoURIs(r.Policy.AggregateURIs)
	if len(dests) == 0 {
		base.Status = "skipped: no mailto: address in rua"
		return []Outcome{base}, false
	}
	var out []Outcome
	sent, failed := false, false
	for _, d := range dests {
		o := base
		o.To = d.Address
		o.Status, o.Err = s.deliver(ctx, r, d, gz, now, dry)
		sent = sent || o.Err == nil && !strings.HasPrefix(o.Status, "skipped")
		failed = failed || o.Err != nil
		s.log(o)
		out = append(out, o)
	}
	return out, failed && !sent
}

// deliver checks one destination and sends it the report.
func (s *Sender) deliver(ctx context.Context, r *Report, d destination, gz []byte, now time.Time, dry bool) (string, error) {
	switch {
	case d.Address == "":
		return "skipped: " + d.URI + " is not a mailto: URI", nil
	case d.MaxSize > 0 && uint64(len(gz)) > d.MaxSize:
		// RFC 7489 §6.2: a report over the limit is not sent.
		return fmt.Sprintf("skipped: %d bytes over the limit of %d (%s)", len(gz), d.MaxSize, d.URI), nil
	}
	ok, err := Authorized(ctx, s.Resolver, r.Domain, d.Domain)
	if err != nil {
		return "failed: external destination verification: " + err.Error(), err
	}
	if !ok {
		return fmt.Sprintf("skipped: %s does not take reports for %s (no v=DMARC1 record at %s, RFC 7489 §7.1)",
			d.Domain, r.Domain, verificationName(r.Domain, d.Domain)), nil
	}
	if dry {
		return "would send", nil
	}
	msg := r.Message(d.Address, gz, now)
	if err := s.send(ctx, d.Address, msg); err != nil {
		return "failed: " + err.Error(), err
	}
	return "sent", nil
}

// send signs msg with the From domain's DKIM keys, when there are any,
// and hands it to the pipeline.
func (s *Sender) send(ctx context.Context, to string, msg []byte) error {
	if s.Signer != nil {
		domain := s.Email[strings.LastIndexByte(s.Email, '@')+1:]
		h, err := s.Signer.Sign(ctx, domain, bytes.NewReader(msg))
		if err != nil {
			s.logger().Warn("dmarc report: DKIM signing failed, sent unsigned", "domain", domain, "err", err)
		}
		msg = append([]byte(h), msg...)
	}
	return s.Pipeline.SendReport(ctx, to, msg)
}

func (s *Sender) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Sender) log(o Outcome) {
	l := s.logger().Info
	if o.Err != nil {
		l = s.logger().Warn
	}
	l("dmarc aggregate report", "domain", o.Domain, "to", o.To, "records", o.Records,
		"messages", o.Messages, "bytes", o.Size, "status", o.Status)
}
