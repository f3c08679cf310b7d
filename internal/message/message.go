// Package message parses an Internet message (RFC 5322, MIME RFC 2045–2049)
// once, at delivery time, into everything an IMAP server later needs without
// reading the message again: the ENVELOPE and BODYSTRUCTURE (RFC 3501
// §7.4.2, RFC 9051 §7.5.2) with byte offsets for BODY[section], the SORT and
// THREAD keys (RFC 5256, RFC 5957), a PREVIEW (RFC 8970) and decoded text
// for substring SEARCH.
//
// Parse streams: it reads the message line by line through a fixed-size
// buffer, tracks offsets itself, and keeps only bounded amounts of text.
// It never fails on malformed content, only on read errors. How broken input
// degrades:
//
//   - A missing or syntactically invalid Content-Type is text/plain;
//     charset=us-ascii (RFC 2045 §5.2), message/rfc822 inside
//     multipart/digest (RFC 2046 §5.1.5).
//   - A multipart without a boundary parameter, without any boundary line,
//     or nested deeper than MaxDepth is reported as text/plain (IMAP has no
//     multipart without children); Params keep what was written.
//   - A missing close-delimiter ends the open parts at the end of input (or
//     at an enclosing boundary).
//   - A message/rfc822 part with a base64 or quoted-printable encoding, or
//     nested deeper than MaxDepth, is opaque: Envelope and Message are nil,
//     and an IMAP server should show it as a basic body.
//   - A header line that is neither a field nor a continuation ends the
//     header; the body starts on that line.
//   - Unknown charsets are kept raw; decoded strings (names, BaseSubject,
//     Preview, Text) are always valid UTF-8, invalid bytes become U+FFFD.
//     Raw values (Envelope strings, Headers) keep the bytes as received.
//   - Past MaxParts parts, further parts are skipped (not listed).
package message

import (
	"io"
	"time"
)

// Limits that keep memory bounded whatever the input.
const (
	MaxDepth        = 50       // nesting of multipart and message/rfc822
	MaxHeaderFields = 1000     // header fields kept per part
	MaxFieldSize    = 64 << 10 // bytes kept of one header field value
	MaxParts        = 5000     // body parts recorded per message
	MaxTextSize     = 1 << 20  // bytes of Parsed.Text
	MaxPreview      = 200      // characters of Parsed.Preview (RFC 8970 §3 allows 256)
)

// Address is an IMAP address structure (RFC 3501 §7.4.2, RFC 9051 §7.5.2).
// Group syntax uses the IMAP markers: a start marker with Mailbox set to the
// group name and Host empty, and an end marker with every field empty.
// A mailbox without a domain gets Host ".MISSING-HOST-NAME." so that it is
// not mistaken for a group start.
type Address struct {
	Name    string `json:"name,omitempty"` // display name, RFC 2047 decoded, UTF-8
	Adl     string `json:"adl,omitempty"`  // obsolete source route, "@a,@b"
	Mailbox string `json:"mailbox,omitempty"`
	Host    string `json:"host,omitempty"`
}

// IsGroupStart reports whether a is the start marker of a group.
func (a Address) IsGroupStart() bool { return a.Host == "" && a.Mailbox != "" }

// IsGroupEnd reports whether a is the end marker of a group.
func (a Address) IsGroupEnd() bool { return a == Address{} }

// Envelope is the IMAP ENVELOPE of a message. String fields are the raw,
// unfolded header values: RFC 2047 encoded-words are not decoded, as the
// ENVELOPE requires.
type Envelope struct {
	Date      string    `json:"date,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	From      []Address `json:"from,omitempty"`
	Sender    []Address `json:"sender,omitempty"`   // From when absent or empty
	ReplyTo   []Address `json:"reply_to,omitempty"` // From when absent or empty
	To        []Address `json:"to,omitempty"`
	Cc        []Address `json:"cc,omitempty"`
	Bcc       []Address `json:"bcc,omitempty"`
	InReplyTo string    `json:"in_reply_to,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
}

// Part is one node of the MIME tree, with what BODYSTRUCTURE shows and the
// byte offsets BODY[section] needs. All offsets are absolute in the raw
// message. For a part inside a multipart, EndOffset is before the line break
// that precedes the next boundary, which belongs to the boundary (RFC 2046
// §5.1.1).
type Part struct {
	Type              string            `json:"type"`    // lowercase
	Subtype           string            `json:"subtype"` // lowercase
	Params            map[string]string `json:"params,omitempty"`
	ID                string            `json:"id,omitempty"`
	Description       string            `json:"description,omitempty"`
	Encoding          string            `json:"encoding"`              // uppercase, "7BIT" by default
	Disposition       string            `json:"disposition,omitempty"` // lowercase
	DispositionParams map[string]string `json:"disposition_params,omitempty"`
	Language          []string          `json:"language,omitempty"`
	Location          string            `json:"location,omitempty"`
	MD5               string            `json:"md5,omitempty"`

	HeaderOffset int64 `json:"header_offset"`
	BodyOffset   int64 `json:"body_offset"`
	EndOffset    int64 `json:"end_offset"`
	Size         int64 `json:"size"`            // EndOffset - BodyOffset
	Lines        int64 `json:"lines,omitempty"` // text/* and message/rfc822 only

	Parts    []*Part   `json:"parts,omitempty"`    // multipart children
	Envelope *Envelope `json:"envelope,omitempty"` // message/rfc822
	Message  *Part     `json:"message,omitempty"`  // message/rfc822
}

// Section returns the part an IMAP section number designates (RFC 3501
// §6.4.5, RFC 9051 §6.4.5), or nil if there is none. p is a message's
// top-level part and path the 1-based part numbers, at least one. A
// non-multipart body is part 1 of its message; the numbers after a
// message/rfc822 part index the encapsulated message. For n.MIME use the
// part's HeaderOffset..BodyOffset; for n.HEADER and n.TEXT of a
// message/rfc822 part, those of its Message.
func (p *Part) Section(path ...int) *Part {
	var cur *Part
	msg := p // the entity whose body the next number indexes
	for _, n := range path {
		switch {
		case msg == nil:
			return nil
		case len(msg.Parts) > 0 && n >= 1 && n <= len(msg.Parts):
			cur = msg.Parts[n-1]
		case len(msg.Parts) == 0 && n == 1:
			cur = msg
		default:
			return nil
		}
		switch {
		case cur.Message != nil:
			msg = cur.Message
		case len(cur.Parts) > 0:
			msg = cur
		default:
			msg = nil
		}
	}
	return cur
}

// HeaderField is one header field as written: Name keeps its case, Value is
// unfolded (RFC 5322 §2.2.3) but otherwise raw.
type HeaderField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Parsed is everything stored about a message at delivery.
type Parsed struct {
	Size       int64 `json:"size"`
	HeaderSize int64 `json:"header_size"` // top-level header, blank line included
	// StrayLine: the top-level header ended at a line that is neither a
	// field, a continuation nor the blank line (RFC 5322 §2.2), where the
	// body starts here; a lenient reader may take the lines after it for
	// more header fields.
	StrayLine bool     `json:"stray_line,omitempty"`
	Envelope  Envelope `json:"envelope"`
	Body      *Part    `json:"body"`

	// Message IDs without angle brackets, for THREAD=REFERENCES (RFC 5256 §3).
	MessageID  string   `json:"message_id,omitempty"`
	InReplyTo  []string `json:"in_reply_to,omitempty"`
	References []string `json:"references,omitempty"`

	SentDate    time.Time `json:"sent_date"`              // zero if absent or unparsable
	BaseSubject string    `json:"base_subject,omitempty"` // RFC 5256 §2.1, decoded, case kept
	// SubjectIsReply is true when base subject extraction removed a reply
	// or forward marker ("Re:", "Fwd:", "(fwd)", "[fwd: …]"), as THREAD=
	// REFERENCES needs (RFC 5256 §3 step 5).
	SubjectIsReply bool `json:"subject_is_reply,omitempty"`

	SortFrom    string `json:"sort_from,omitempty"` // RFC 5256 §3: addr-mailbox of the first address
	SortTo      string `json:"sort_to,omitempty"`
	SortCc      string `json:"sort_cc,omitempty"`
	DisplayFrom string `json:"display_from,omitempty"` // RFC 5957 §2
	DisplayTo   string `json:"display_to,omitempty"`

	// Preview is the RFC 8970 preview: the start of the first text/plain
	// or text/html part that is not an attachment, decoded, HTML stripped,
	// white space collapsed, at most MaxPreview characters.
	Preview string `json:"preview,omitempty"`
	// Text is for substring SEARCH: the decoded Subject, From, To and Cc
	// of the message (and of encapsulated messages) and the decoded text/*
	// bodies, HTML roughly stripped, one per line, at most MaxTextSize bytes.
	Text string `json:"text,omitempty"`
	// TextBodyStart is where the body's part of Text starts (BodyText):
	// before it are the top-level header values.
	TextBodyStart int           `json:"text_body_start,omitempty"`
	Headers       []HeaderField `json:"headers,omitempty"` // top-level header, at most MaxHeaderFields
}

// Parse reads a whole message from r and describes it. CRLF and bare LF line
// endings are both accepted; offsets count the bytes r delivered. Parse
// reads r to the end and returns an error only if r does.
func Parse(r io.Reader) (*Parsed, error) {
	p := newParser(r)
	out := &Parsed{}
	body, _ := p.parsePart(0, false, func(h []HeaderField) {
		out.StrayLine = p.stray
		p.topHeader(out, h)
		out.TextBodyStart = len(p.text.String())
	})
	if err := p.s.err; err != nil {
		return nil, err
	}
	out.Body = body
	out.Size = p.s.off
	out.HeaderSize = body.BodyOffset
	out.Text = p.text.String()
	out.Preview = p.preview
	return out, nil
}
