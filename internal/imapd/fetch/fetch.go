// Package fetch renders IMAP FETCH data items (RFC 9051 §6.4.5, §7.5.2;
// RFC 3501 §6.4.5, §7.4.2; RFC 3516 BINARY) from what package message
// stored at delivery and from the stored message bytes.
//
// ENVELOPE and BODY/BODYSTRUCTURE are appended to a []byte in IMAP syntax;
// BODY[section] and BINARY[section] are returned as a reader and an exact
// length, so that the session can write "{n}\r\n" and then stream the
// bytes. Contiguous sections (the whole message, TEXT, HEADER, MIME, a
// part's body) are read straight from the blob with an io.SectionReader;
// only HEADER.FIELDS(.NOT) and BINARY of small parts are built in memory.
//
// Nothing here depends on the wire package: the package has its own small
// encoder for IMAP strings (quoted when possible, else a literal).
package fetch

import "errors"

var (
	// ErrSyntax is wrapped by the errors of ParseSection and by Extract for
	// a section that cannot be valid: the session answers BAD.
	ErrSyntax = errors.New("fetch: invalid section")
	// ErrNotMessage is returned by Extract for HEADER, HEADER.FIELDS and
	// TEXT after a part number that is not message/rfc822 (RFC 9051
	// §6.4.5): the session answers BAD.
	ErrNotMessage = errors.New("fetch: HEADER and TEXT after a part number need a message/rfc822 part")
	// ErrUnknownCTE is returned for BINARY of a part whose
	// Content-Transfer-Encoding is not known: the session answers
	// NO [UNKNOWN-CTE] (RFC 3516 §4.3, RFC 9051 §7.1).
	ErrUnknownCTE = errors.New("fetch: unknown Content-Transfer-Encoding")
)
