package dmarcreport

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"facteur.dev/facteur/internal/checks/dmarc"
	"facteur.dev/facteur/internal/store"
)

// Report is one aggregate report to build: the rows of one policy domain
// over a period, and who reports them.
type Report struct {
	Org   string // org_name and the Submitter: our host name
	Email string // the contact address, also the message's From
	// ID is report_id; Boundary and MessageID are for the message. All
	// three are random when empty (tests fix them).
	ID, Boundary, MessageID string
	Domain                  string    // the policy domain
	Begin, End              time.Time // date_range; End is the last second covered
	Policy                  *dmarc.Record
	Rows                    []store.DMARCRecord
}

// newReport gathers rows of one policy domain (every one with that
// PolicyDomain, sorted by day) into a report covering their days, under
// the policy of the latest evaluation.
func newReport(org, email string, rows []store.DMARCRecord) (*Report, error) {
	latest := slices.MaxFunc(rows, func(a, b store.DMARCRecord) int { return a.LastSeen.Compare(b.LastSeen) })
	rec, err := dmarc.Parse(latest.Record)
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: the policy of %s kept as %q: %w", latest.PolicyDomain, latest.Record, err)
	}
	return &Report{Org: org, Email: email, Domain: latest.PolicyDomain, Policy: rec, Rows: rows,
		Begin: rows[0].Day, End: rows[len(rows)-1].Day.Add(24*time.Hour - time.Second)}, nil
}

// Messages counts the messages the report covers.
func (r *Report) Messages() int64 {
	var n int64
	for _, row := range r.Rows {
		n += row.Count
	}
	return n
}

func random() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// fill gives the report what is random.
func (r *Report) fill() {
	if r.ID == "" {
		r.ID = fmt.Sprintf("%d.%s@%s", r.Begin.Unix(), random(), r.Org)
	}
	if r.Boundary == "" {
		r.Boundary = random()
	}
	if r.MessageID == "" {
		r.MessageID = random() + "@" + r.Org
	}
}

// Feedback is the report document (RFC 7489 Appendix C). Rows of the
// period that differ only by day are one record.
func (r *Report) Feedback() Feedback {
	r.fill()
	p := r.Policy
	f := Feedback{Version: "1.0",
		Metadata: ReportMetadata{OrgName: r.Org, Email: r.Email, ReportID: r.ID,
			DateRange: DateRange{Begin: r.Begin.Unix(), End: r.End.Unix()}},
		Policy: PolicyPublished{Domain: r.Domain, ADKIM: string(p.DKIMAlignment), ASPF: string(p.SPFAlignment),
			P: string(p.Policy), SP: string(cmp.Or(p.SubdomainPolicy, p.Policy)), Pct: strconv.Itoa(p.Percent)}}
	index := map[string]int{}
	for _, row := range r.Rows {
		day := row
		day.Day = time.Time{}
		k := rowKey(&day)
		if i, ok := index[k]; ok {
			f.Records[i].Row.Count += row.Count
			continue
		}
		index[k] = len(f.Records)
		f.Records = append(f.Records, recordOf(row))
	}
	return f
}

// recordOf is the report record of one row.
func recordOf(row store.DMARCRecord) Record {
	rec := Record{
		Row: Row{SourceIP: row.SourceIP, Count: row.Count, PolicyEvaluated: PolicyEvaluated{
			Disposition: row.Disposition, DKIM: passFail(row.DKIMAligned), SPF: passFail(row.SPFAligned)}},
		Identifiers: Identifiers{HeaderFrom: row.HeaderFrom},
		AuthResults: AuthResults{SPF: []SPFResult{{Domain: row.SPF.Domain, Scope: cmp.Or(row.SPF.Scope, "mfrom"),
			Result: spfResult(row.SPF.Result)}}},
	}
	if row.Override != "" {
		rec.Row.PolicyEvaluated.Reasons = []Reason{overrideReason(row.Override)}
	}
	for _, d := range row.DKIM {
		rec.AuthResults.DKIM = append(rec.AuthResults.DKIM, DKIMResult{Domain: d.Domain, Selector: d.Selector,
			Result: dkimResult(d.Result)})
	}
	return rec
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// overrideReason is the PolicyOverrideReason of an override: RFC 7489's
// types as they are; DMARCbis's policy_test_mode (t=y) is not one of
// them, so it is "other" with that comment.
func overrideReason(o string) Reason {
	switch o {
	case "forwarded", "sampled_out", "trusted_forwarder", "mailing_list", "local_policy", "other":
		return Reason{Type: o}
	}
	return Reason{Type: "other", Comment: o}
}

// dkimResult maps an Authentication-Results value to DKIMResultType
// (none, pass, fail, policy, neutral, temperror, permerror).
func dkimResult(r string) string {
	switch r {
	case "pass", "fail", "policy", "neutral", "temperror", "permerror":
		return r
	}
	return "none"
}

// spfResult maps an Authentication-Results value to SPFResultType
// (none, neutral, pass, fail, softfail, temperror, permerror).
func spfResult(r string) string {
	switch r {
	case "neutral", "pass", "fail", "softfail", "temperror", "permerror":
		return r
	}
	return "none"
}

// XML is the report document, indented, with the XML declaration.
func (r *Report) XML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(r.Feedback()); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// Gzip is the compressed document, as it is attached.
func (r *Report) Gzip() ([]byte, error) {
	doc, err := r.XML()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Name, zw.ModTime = r.baseName()+".xml", r.End
	zw.Write(doc)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// baseName is receiver!policy-domain!begin!end (RFC 7489 §7.2.1.1).
func (r *Report) baseName() string {
	return fmt.Sprintf("%s!%s!%d!%d", r.Org, r.Domain, r.Begin.Unix(), r.End.Unix())
}

// Filename is the attachment's name (RFC 7489 §7.2.1.1).
func (r *Report) Filename() string { return r.baseName() + ".xml.gz" }

// Subject is the message's Subject (RFC 7489 §7.2.1.1).
func (r *Report) Subject() string {
	r.fill()
	return fmt.Sprintf("Report Domain: %s Submitter: %s Report-ID: <%s>", r.Domain, r.Org, r.ID)
}

// Message is the report message to one address: multipart/mixed with a
// short text and the gzipped document (RFC 7489 §7.2.1.1).
func (r *Report) Message(to string, gz []byte, date time.Time) []byte {
	r.fill()
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n", r.Email, to, r.Subject())
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <%s>\r\n", date.Format(time.RFC1123Z), r.MessageID)
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n") // RFC 3834 §5
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", r.Boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", r.Boundary)
	fmt.Fprintf(&b, "This is a DMARC aggregate report (RFC 7489) from %s for %s,\r\n", r.Org, r.Domain)
	fmt.Fprintf(&b, "covering %s to %s UTC: %d messages.\r\n\r\n",
		r.Begin.UTC().Format(time.DateTime), r.End.UTC().Format(time.DateTime), r.Messages())
	name := r.Filename()
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/gzip; name=\"%s\"\r\n", r.Boundary, name)
	fmt.Fprintf(&b, "Content-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", name)
	enc := base64.StdEncoding.EncodeToString(gz)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	fmt.Fprintf(&b, "%s\r\n--%s--\r\n", enc, r.Boundary)
	return b.Bytes()
}

// rowsByDomain splits rows (sorted by policy domain, as
// store.DMARCRecords returns them) per policy domain.
func rowsByDomain(rows []store.DMARCRecord) [][]store.DMARCRecord {
	var out [][]store.DMARCRecord
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && strings.EqualFold(rows[j].PolicyDomain, rows[i].PolicyDomain) {
			j++
		}
		out = append(out, rows[i:j])
		i = j
	}
	return out
}
