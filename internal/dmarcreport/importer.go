package dmarcreport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// ErrNotOurs is a report about a domain this server does not serve.
var ErrNotOurs = errors.New("dmarcreport: the report is about a domain that is not ours")

// Importer stores the aggregate reports that arrive about our domains
// (the policy domain, or a domain below it, is local). As a
// delivery.CopyFilter it reads each local copy whose Subject and MIME
// structure look like a report's (RFC 7489 §7.2.1.1) while it is
// delivered; ImportMailbox reads the messages already in a mailbox. A
// report stored twice is counted once (store.ErrExists), and the message
// itself is always delivered or left as it is.
type Importer struct {
	Store store.Store
	Log   *slog.Logger
}

var _ delivery.CopyFilter = (*Importer)(nil)

func (im *Importer) logger() *slog.Logger {
	if im.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return im.Log
}

// Import reads a report message and stores its report.
func (im *Importer) Import(ctx context.Context, r io.Reader) (store.DMARCReport, error) {
	doc, err := Extract(r)
	if err != nil {
		return store.DMARCReport{}, err
	}
	f, err := ParseReport(bytes.NewReader(doc))
	if err != nil {
		return store.DMARCReport{}, err
	}
	rep := f.StoreReport(time.Now())
	d, err := mail.NormalizeDomain(rep.Domain)
	if err != nil {
		return rep, fmt.Errorf("%w: policy domain %q", ErrSchema, rep.Domain)
	}
	rep.Domain = d
	ok, err := im.ours(ctx, d)
	if err != nil {
		return rep, err
	}
	if !ok {
		return rep, fmt.Errorf("%w (%s)", ErrNotOurs, d)
	}
	return rep, im.Store.AddDMARCReport(ctx, rep)
}

// ours reports whether domain or a domain above it is local.
func (im *Importer) ours(ctx context.Context, domain string) (bool, error) {
	for d := domain; d != ""; {
		ok, err := im.Store.HasDomain(ctx, d)
		if ok || err != nil {
			return ok, err
		}
		_, d, _ = strings.Cut(d, ".")
	}
	return false, nil
}

// FilterCopy implements delivery.CopyFilter: it stores the report a copy
// carries and leaves the copy as it is. It never fails: a message that is
// not a good report is delivered as any other.
func (im *Importer) FilterCopy(ctx context.Context, env *delivery.Envelope, msg delivery.Received, c *delivery.Copy) error {
	if !LooksLikeReport(msg.Parsed, true) {
		return nil
	}
	b, err := im.Store.Blobs().Open(ctx, msg.BlobID)
	if err != nil {
		im.logger().Warn("dmarc report: cannot read the message", "account", c.Account.Address, "err", err)
		return nil
	}
	defer b.Close()
	rep, err := im.Import(ctx, b)
	im.logResult(c.Account.Address, rep, err)
	return nil
}

func (im *Importer) logResult(account string, rep store.DMARCReport, err error) {
	log := im.logger()
	switch {
	case err == nil:
		log.Info("dmarc report stored", "account", account, "org", rep.Org, "report_id", rep.ReportID,
			"domain", rep.Domain, "records", len(rep.Rows))
	case errors.Is(err, store.ErrExists):
		log.Debug("dmarc report already stored", "account", account, "org", rep.Org, "report_id", rep.ReportID)
	default:
		log.Warn("dmarc report not stored, kept as a message", "account", account, "err", err)
	}
}

// LooksLikeReport reports whether a message may carry an aggregate
// report: an attachment of a report's type or name and, with
// wantSubject, the Subject of RFC 7489 §7.2.1.1 ("Report Domain: …").
func LooksLikeReport(p *message.Parsed, wantSubject bool) bool {
	if p == nil {
		return false
	}
	if wantSubject && !strings.Contains(strings.ToLower(p.Envelope.Subject+" "+p.BaseSubject), "report domain:") {
		return false
	}
	return hasReportPart(p.Body, 0)
}

func hasReportPart(p *message.Part, depth int) bool {
	if p == nil || depth > maxDepth {
		return false
	}
	if len(p.Parts) == 0 {
		t := p.Type + "/" + p.Subtype
		return reportTypes[t] || isReportName(p.DispositionParams["filename"]) || isReportName(p.Params["name"])
	}
	for _, c := range p.Parts {
		if hasReportPart(c, depth+1) {
			return true
		}
	}
	return false
}

// MessageResult is what ImportMailbox did with one message that looks
// like a report.
type MessageResult struct {
	UID     uint32
	Subject string
	Report  store.DMARCReport
	Err     error // nil: stored; store.ErrExists: stored before
}

// ImportMailbox imports the reports of the messages of an account's
// mailbox that look like reports (by attachment; the Subject is not
// required). It changes nothing in the mailbox.
func (im *Importer) ImportMailbox(ctx context.Context, address, mailbox string) ([]MessageResult, error) {
	a, err := im.Store.LookupAccount(ctx, address)
	if err != nil {
		return nil, err
	}
	mb, err := im.Store.GetMailbox(ctx, a.ID, mailbox)
	if err != nil {
		return nil, err
	}
	msgs, err := im.Store.Messages(ctx, mb.ID, true)
	if err != nil {
		return nil, err
	}
	var out []MessageResult
	for i := range msgs {
		m := &msgs[i]
		if !LooksLikeReport(m.Parsed, false) {
			continue
		}
		res := MessageResult{UID: m.UID, Subject: m.Parsed.Envelope.Subject}
		res.Report, res.Err = im.importStored(ctx, m)
		out = append(out, res)
	}
	return out, nil
}

func (im *Importer) importStored(ctx context.Context, m *store.Message) (store.DMARCReport, error) {
	b, err := store.OpenMessage(ctx, im.Store.Blobs(), m)
	if err != nil {
		return store.DMARCReport{}, err
	}
	defer b.Close()
	return im.Import(ctx, b)
}
