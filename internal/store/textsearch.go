package store

import (
	"context"
	"strings"
)

// TextField says which text of a message TextSearch.SearchText looks in.
type TextField string

// Text fields (RFC 9051 §6.4.4). A header field is TextHeader(name).
const (
	TextBody    TextField = "BODY"   // the decoded text of the body (SEARCH BODY)
	TextAll     TextField = "TEXT"   // header and body (SEARCH TEXT)
	TextHeaders TextField = "HEADER" // every header field, decoded
)

// TextHeader is the field of one header field name (SEARCH FROM, SUBJECT,
// HEADER name …): messages with a field of that name, compared
// case-insensitively, whose decoded value contains the needle.
func TextHeader(name string) TextField {
	return TextField("HEADER " + strings.ToLower(name))
}

// HeaderName returns the field name of a TextHeader field.
func (f TextField) HeaderName() (string, bool) {
	return strings.CutPrefix(string(f), "HEADER ")
}

// TextSearch is substring search over decoded message text, answered
// from an index rather than by reading every message.
type TextSearch interface {
	// SearchText returns, in ascending order, the UIDs of the mailbox's
	// messages whose text in field contains needle, compared
	// case-insensitively (Unicode lower case). Text is what package
	// message extracts: header values RFC 2047-decoded, text/* parts
	// decoded from their transfer encoding and charset, HTML stripped
	// (message.Parsed.BodyText and HeaderText). An empty needle matches
	// every message (for a header field, every message that has it).
	SearchText(ctx context.Context, mailboxID int64, field TextField, needle string) ([]uint32, error)
}
