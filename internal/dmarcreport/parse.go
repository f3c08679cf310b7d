package dmarcreport

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"

	"facteur.dev/facteur/internal/store"
)

// MaxRows bounds the records of one report read.
const MaxRows = 50000

// maxField bounds a text field (a domain, an address, an ID).
const maxField = 255

// ErrSchema is a document that is XML but not an aggregate report.
var ErrSchema = errors.New("dmarcreport: not an aggregate report")

// ErrTooManyRows is a report with more than MaxRows records.
var ErrTooManyRows = fmt.Errorf("dmarcreport: more than %d records", MaxRows)

func schemaErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSchema, fmt.Sprintf(format, args...))
}

// ParseReport reads an aggregate report document (RFC 7489 Appendix C;
// DMARCbis's namespace and extensions are accepted, unknown elements
// skipped) and checks what the store keeps: the metadata, the policy
// domain and each record's source, count and results. It reads the
// records one at a time and stops after MaxRows.
func ParseReport(r io.Reader) (*Feedback, error) {
	d := xml.NewDecoder(r)
	d.CharsetReader = charset.Reader
	root, err := firstElement(d)
	if err != nil {
		return nil, err
	}
	if root.Name.Local != "feedback" {
		return nil, schemaErr("root element <%s>, want <feedback>", root.Name.Local)
	}
	f := &Feedback{XMLName: root.Name}
	if err := readChildren(d, f); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

// firstElement skips the prolog (declaration, comments, white space).
func firstElement(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return xml.StartElement{}, schemaErr("no element")
		}
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("dmarcreport: XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, nil
		}
	}
}

// readChildren decodes feedback's children up to its end tag.
func readChildren(d *xml.Decoder, f *Feedback) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("dmarcreport: XML: %w", err) // EOF here is a truncated document
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := readChild(d, f, t); err != nil {
				return err
			}
		}
	}
}

func readChild(d *xml.Decoder, f *Feedback, se xml.StartElement) error {
	var err error
	switch se.Name.Local {
	case "version":
		err = d.DecodeElement(&f.Version, &se)
	case "report_metadata":
		err = d.DecodeElement(&f.Metadata, &se)
	case "policy_published":
		err = d.DecodeElement(&f.Policy, &se)
	case "record":
		if len(f.Records) >= MaxRows {
			return ErrTooManyRows
		}
		var rec Record
		if err = d.DecodeElement(&rec, &se); err == nil {
			f.Records = append(f.Records, rec)
		}
	default:
		err = d.Skip()
	}
	if err != nil {
		return fmt.Errorf("dmarcreport: XML <%s>: %w", se.Name.Local, err)
	}
	return nil
}

// check validates what the store keeps.
func (f *Feedback) check() error {
	m := f.Metadata
	for name, v := range map[string]string{"org_name": m.OrgName, "report_id": m.ReportID, "policy_published domain": f.Policy.Domain} {
		if strings.TrimSpace(v) == "" {
			return schemaErr("no %s", name)
		}
	}
	for _, v := range []string{m.OrgName, m.Email, m.ReportID, f.Policy.Domain} {
		if len(v) > maxField {
			return schemaErr("a field of %d bytes", len(v))
		}
	}
	if m.DateRange.Begin <= 0 || m.DateRange.End < m.DateRange.Begin {
		return schemaErr("date_range %d..%d", m.DateRange.Begin, m.DateRange.End)
	}
	for i, rec := range f.Records {
		if err := rec.check(); err != nil {
			return fmt.Errorf("record %d: %w", i+1, err)
		}
	}
	return nil
}

var dispositions = map[string]bool{"none": true, "quarantine": true, "reject": true, "pass": true}

func (rec *Record) check() error {
	row := rec.Row
	if _, err := netip.ParseAddr(strings.TrimSpace(row.SourceIP)); err != nil {
		return schemaErr("source_ip %q", row.SourceIP)
	}
	if row.Count < 0 {
		return schemaErr("count %d", row.Count)
	}
	pe := row.PolicyEvaluated
	if !dispositions[strings.TrimSpace(pe.Disposition)] {
		return schemaErr("disposition %q", pe.Disposition)
	}
	for _, v := range []string{pe.DKIM, pe.SPF} {
		if v := strings.TrimSpace(v); v != "pass" && v != "fail" {
			return schemaErr("policy_evaluated result %q", v)
		}
	}
	if len(rec.Identifiers.HeaderFrom) > maxField {
		return schemaErr("header_from of %d bytes", len(rec.Identifiers.HeaderFrom))
	}
	return nil
}

// StoreReport is the report as the store keeps it, received at received.
func (f *Feedback) StoreReport(received time.Time) store.DMARCReport {
	m := f.Metadata
	r := store.DMARCReport{Org: strings.TrimSpace(m.OrgName), Email: strings.TrimSpace(m.Email),
		ReportID: strings.TrimSpace(m.ReportID), Domain: strings.ToLower(strings.TrimSpace(f.Policy.Domain)),
		Begin: time.Unix(m.DateRange.Begin, 0).UTC(), End: time.Unix(m.DateRange.End, 0).UTC(), Received: received}
	for _, rec := range f.Records {
		ip, _ := netip.ParseAddr(strings.TrimSpace(rec.Row.SourceIP)) // checked
		pe := rec.Row.PolicyEvaluated
		r.Rows = append(r.Rows, store.DMARCReportRow{SourceIP: ip.String(), Count: rec.Row.Count,
			Disposition: strings.TrimSpace(pe.Disposition), DKIM: strings.TrimSpace(pe.DKIM),
			SPF: strings.TrimSpace(pe.SPF), HeaderFrom: strings.ToLower(strings.TrimSpace(rec.Identifiers.HeaderFrom))})
	}
	return r
}
