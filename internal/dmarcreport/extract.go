package dmarcreport

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	gomessage "github.com/emersion/go-message"
)

// Bounds on what a report message may cost to read.
const (
	MaxReportSize = 20 << 20 // the XML document, decompressed
	MaxAttachment = 20 << 20 // the attachment, transfer encoding removed
	MaxZipEntries = 16
	maxParts      = 100 // MIME parts looked at
	maxDepth      = 8   // multipart nesting
)

// Extract's errors; every other error says why the candidate attachment
// could not be read (a truncated gzip, a broken zip).
var (
	ErrNotReport      = errors.New("dmarcreport: no .xml, .xml.gz or .zip attachment")
	ErrTooLarge       = fmt.Errorf("dmarcreport: report larger than %d bytes", MaxReportSize)
	ErrTooManyEntries = fmt.Errorf("dmarcreport: zip file with more than %d entries", MaxZipEntries)
	ErrTooManyParts   = fmt.Errorf("dmarcreport: more than %d MIME parts or %d levels", maxParts, maxDepth)
)

// Extract returns the report document of a message: the XML of its first
// attachment that is a report by media type or file name (application/
// gzip, application/zip, text/xml, application/xml, or a .xml, .gz or
// .zip file), decompressed. The format is read from the bytes (gzip and
// zip signatures), not from what the message claims. Every size is
// bounded: a gzip or zip bomb gives ErrTooLarge after MaxReportSize bytes.
func Extract(r io.Reader) ([]byte, error) {
	e, err := gomessage.Read(r)
	if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("dmarcreport: message header: %w", err)
	}
	w := walker{}
	part, err := w.find(e, 0)
	if err != nil {
		return nil, err
	}
	if part == nil {
		return nil, ErrNotReport
	}
	raw, err := readAtMost(part.Body, MaxAttachment)
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: attachment: %w", err)
	}
	return decompress(raw)
}

// walker looks for the report part, counting the parts it sees.
type walker struct{ parts int }

func (w *walker) find(e *gomessage.Entity, depth int) (*gomessage.Entity, error) {
	w.parts++
	if w.parts > maxParts || depth > maxDepth {
		return nil, ErrTooManyParts
	}
	mr := e.MultipartReader()
	if mr == nil {
		if isReportPart(e.Header) {
			return e, nil
		}
		return nil, nil
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
			return nil, fmt.Errorf("dmarcreport: MIME structure: %w", err)
		}
		found, err := w.find(p, depth+1)
		if found != nil || err != nil {
			return found, err
		}
	}
}

// reportTypes are the media types reports come as.
var reportTypes = map[string]bool{
	"application/gzip": true, "application/x-gzip": true, "application/zip": true,
	"application/x-zip": true, "application/x-zip-compressed": true,
	"text/xml": true, "application/xml": true,
}

func isReportPart(h gomessage.Header) bool {
	t, params, _ := h.ContentType()
	if reportTypes[t] {
		return true
	}
	_, dparams, _ := h.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	return isReportName(name)
}

// isReportName reports whether a file name is a report's: .xml, .gz,
// .zip (RFC 7489 §7.2.1.1 names .xml.gz; zip is common).
func isReportName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".xml", ".gz", ".zip":
		return true
	}
	return false
}

// readAtMost reads r to the end, failing with ErrTooLarge beyond max.
func readAtMost(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, ErrTooLarge
	}
	return b, nil
}

// decompress returns the XML in raw: gunzipped, unzipped or as it is.
func decompress(raw []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(raw, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("dmarcreport: gzip: %w", err)
		}
		b, err := readAtMost(zr, MaxReportSize)
		if err != nil && err != ErrTooLarge {
			err = fmt.Errorf("dmarcreport: gzip: %w", err) // truncated: unexpected EOF
		}
		return b, err
	case bytes.HasPrefix(raw, []byte("PK\x03\x04")):
		return unzip(raw)
	}
	return raw, nil
}

// unzip returns the first .xml entry of a zip file (or its only entry).
func unzip(raw []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: zip: %w", err)
	}
	if len(zr.File) > MaxZipEntries {
		return nil, ErrTooManyEntries
	}
	var entry *zip.File
	for _, f := range zr.File {
		if strings.EqualFold(path.Ext(f.Name), ".xml") {
			entry = f
			break
		}
	}
	if entry == nil && len(zr.File) == 1 {
		entry = zr.File[0]
	}
	if entry == nil {
		return nil, fmt.Errorf("dmarcreport: zip: no .xml entry among %d", len(zr.File))
	}
	rc, err := entry.Open()
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: zip %s: %w", entry.Name, err)
	}
	defer rc.Close()
	b, err := readAtMost(rc, MaxReportSize) // the header's sizes are not trusted
	if err != nil && err != ErrTooLarge {
		err = fmt.Errorf("dmarcreport: zip %s: %w", entry.Name, err)
	}
	return b, err
}
