// Package dmarcreport is DMARC aggregate reporting (RFC 7489 §7.2), both
// ways.
//
// Sending: a Recorder (the dmarc check's dmarc.Recorder) counts the
// evaluations of inbound mail in memory and writes them to the store as
// one row per UTC day and reported fields (store.DMARC). Once a day (Daily)
// or on demand (`facteur dmarc send`), a Sender turns the rows of each
// policy domain into the feedback document of RFC 7489 Appendix C,
// gzipped and attached to a message sent with the null sender through
// the delivery pipeline to every mailto: address of the domain's rua
// that the size limit allows and, for an address outside the domain's
// organization, that the external destination verification of §7.1
// confirms. What was reported is deleted.
//
// Receiving: an Importer recognises the reports others send about our
// domains, as a delivery.CopyFilter at delivery or over a mailbox
// (`facteur dmarc import`): the .xml, .xml.gz or .zip attachment is
// extracted and decompressed within bounds (Extract), parsed and checked
// against the schema (ParseReport) and stored (store.DMARC). A message
// that is not a valid report stays an ordinary message; nothing is ever
// removed from a mailbox.
package dmarcreport

import "encoding/xml"

// Feedback is the aggregate report document (RFC 7489 Appendix C): the
// elements this package writes and reads. Unknown elements (DMARCbis
// extensions) are skipped when reading.
type Feedback struct {
	XMLName  xml.Name        `xml:"feedback"`
	Version  string          `xml:"version,omitempty"`
	Metadata ReportMetadata  `xml:"report_metadata"`
	Policy   PolicyPublished `xml:"policy_published"`
	Records  []Record        `xml:"record"`
}

// ReportMetadata is report_metadata: who reports, and for when.
type ReportMetadata struct {
	OrgName   string    `xml:"org_name"`
	Email     string    `xml:"email"`
	ReportID  string    `xml:"report_id"`
	DateRange DateRange `xml:"date_range"`
}

// DateRange is the period covered, in seconds since the epoch (UTC).
type DateRange struct {
	Begin int64 `xml:"begin"`
	End   int64 `xml:"end"`
}

// PolicyPublished is the DMARC policy the reporter found
// (policy_published). Pct is text: DMARCbis reporters leave it out.
type PolicyPublished struct {
	Domain string `xml:"domain"`
	ADKIM  string `xml:"adkim,omitempty"`
	ASPF   string `xml:"aspf,omitempty"`
	P      string `xml:"p"`
	SP     string `xml:"sp"`
	Pct    string `xml:"pct"`
}

// Record is one row of the report: messages from one source with the
// same results.
type Record struct {
	Row         Row         `xml:"row"`
	Identifiers Identifiers `xml:"identifiers"`
	AuthResults AuthResults `xml:"auth_results"`
}

// Row is a record's source, count and policy_evaluated.
type Row struct {
	SourceIP        string          `xml:"source_ip"`
	Count           int64           `xml:"count"`
	PolicyEvaluated PolicyEvaluated `xml:"policy_evaluated"`
}

// PolicyEvaluated is what was done (disposition) and the aligned DMARC
// results of DKIM and SPF (pass or fail).
type PolicyEvaluated struct {
	Disposition string   `xml:"disposition"`
	DKIM        string   `xml:"dkim"`
	SPF         string   `xml:"spf"`
	Reasons     []Reason `xml:"reason,omitempty"`
}

// Reason is a PolicyOverrideReason: why the disposition is weaker than
// the policy.
type Reason struct {
	Type    string `xml:"type"`
	Comment string `xml:"comment,omitempty"`
}

// Identifiers holds the RFC5322.From domain.
type Identifiers struct {
	HeaderFrom string `xml:"header_from"`
}

// AuthResults are the raw DKIM and SPF results, aligned or not.
type AuthResults struct {
	DKIM []DKIMResult `xml:"dkim,omitempty"`
	SPF  []SPFResult  `xml:"spf"`
}

// DKIMResult is one signature's result (DKIMAuthResultType).
type DKIMResult struct {
	Domain   string `xml:"domain"`
	Selector string `xml:"selector,omitempty"`
	Result   string `xml:"result"`
}

// SPFResult is SPF's result (SPFAuthResultType); Scope is mfrom or helo.
type SPFResult struct {
	Domain string `xml:"domain"`
	Scope  string `xml:"scope"`
	Result string `xml:"result"`
}
