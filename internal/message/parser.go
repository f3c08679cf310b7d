package message

import (
	"bytes"
	"io"
	"mime"
	"strings"
)

// parser holds the state of one Parse call.
type parser struct {
	s       *scanner
	bounds  [][]byte // boundaries of the open multiparts, outermost first
	nparts  int
	budget  int // header bytes still kept at MaxFieldSize per field
	dec     *mime.WordDecoder
	raw     []byte // body of the text part being read, for Text and Preview
	text    textBuilder
	preview string
	// stray: the last header block read ended at a line that is neither
	// a field, a continuation, a boundary nor the blank line.
	stray bool
}

func newParser(r io.Reader) *parser {
	return &parser{
		s:      newScanner(r),
		budget: headerBudget,
		dec:    &mime.WordDecoder{CharsetReader: charsetReader},
	}
}

// parsePart parses one entity (header and body) starting at the current
// line, which must be at the beginning of a line. hook, if set, sees the
// header before the body is read. At MaxParts it skips the entity and
// returns a nil part.
func (p *parser) parsePart(depth int, digest bool, hook func([]HeaderField)) (*Part, stop) {
	if p.nparts >= MaxParts {
		return nil, p.scanBody(false)
	}
	p.nparts++
	part := &Part{HeaderOffset: p.s.off}
	h := p.readHeader()
	part.BodyOffset = p.s.off
	lfStart := p.s.lfs
	p.describe(part, h, digest)
	if hook != nil {
		hook(h)
	}
	st := p.parseBody(part, depth)
	part.finish(st, lfStart)
	return part, st
}

func (p *parser) parseBody(part *Part, depth int) stop {
	switch {
	case part.Type == "multipart":
		return p.parseMultipart(part, depth)
	case isMessage(part) && depth < MaxDepth && identityEncoding(part.Encoding):
		return p.parseMessage(part, depth)
	default:
		return p.parseLeaf(part)
	}
}

// parseLeaf reads a body that has no structure of its own.
func (p *parser) parseLeaf(part *Part) stop {
	collect := p.beginText(part)
	st := p.scanBody(collect)
	if collect {
		p.endText(part)
	}
	return st
}

// parseMessage reads an encapsulated message (RFC 2046 §5.2.1): its body is
// a whole message whose envelope and structure IMAP shows (RFC 3501
// §7.4.2, body-type-msg).
func (p *parser) parseMessage(part *Part, depth int) stop {
	var env *Envelope
	inner, st := p.parsePart(depth+1, false, func(h []HeaderField) {
		env = p.envelope(h)
		p.headerText(h)
	})
	if inner != nil {
		part.Message, part.Envelope = inner, env
	}
	return st
}

// parseMultipart reads a multipart body (RFC 2046 §5.1.1): preamble,
// body parts between delimiter lines, close-delimiter, epilogue. A multipart
// that cannot be split into at least one part becomes text/plain.
func (p *parser) parseMultipart(part *Part, depth int) stop {
	b := strings.TrimRight(part.Params["boundary"], " \t") // RFC 2046 §5.1.1: no trailing space
	if b == "" || depth >= MaxDepth {
		part.Type, part.Subtype = "text", "plain"
		return p.parseLeaf(part)
	}
	level := len(p.bounds)
	p.bounds = append(p.bounds, []byte(b))
	defer func() { p.bounds = p.bounds[:level] }()

	// The preamble is kept as text in case no part follows.
	collect := p.wantText("text", "plain", part.Disposition)
	if collect {
		p.raw = p.raw[:0]
	}
	st := p.scanBody(collect)
	digest := part.Subtype == "digest"
	for st.level == level && !st.close {
		p.s.advance() // the delimiter line
		var child *Part
		child, st = p.parsePart(depth+1, digest, nil)
		if child != nil {
			part.Parts = append(part.Parts, child)
		}
	}
	if st.level == level { // close-delimiter: the epilogue runs to the enclosing boundary
		p.s.advance()
		p.bounds = p.bounds[:level]
		st = p.scanBody(false)
	}
	if len(part.Parts) == 0 {
		part.Type, part.Subtype = "text", "plain"
		if collect {
			p.endText(part)
		}
	}
	return st
}

// scanBody skips lines up to the next boundary line of any open multipart
// or the end of input, keeping them for text extraction if collect is set.
func (p *parser) scanBody(collect bool) stop {
	for !p.s.eof() {
		if level, close, ok := p.boundary(); ok {
			return p.s.stopHere(level, close)
		}
		if collect {
			p.raw = appendCapped(p.raw, p.s.line, maxRawText)
		}
		p.s.advance()
	}
	return p.s.stopHere(-1, false)
}

// boundary reports whether the current line is a delimiter or
// close-delimiter line of an open multipart, innermost first. RFC 2046
// §5.1.1: "--" boundary, optionally "--", then only linear white space.
func (p *parser) boundary() (level int, close, ok bool) {
	l := p.s.line
	if !p.s.bol || p.s.partial || len(p.bounds) == 0 || len(l) < 3 || l[0] != '-' || l[1] != '-' {
		return 0, false, false
	}
	rest := l[2:]
	for i := len(p.bounds) - 1; i >= 0; i-- {
		r, found := bytes.CutPrefix(rest, p.bounds[i])
		if !found {
			continue
		}
		r, close = bytes.CutPrefix(r, []byte("--"))
		if len(bytes.TrimLeft(r, " \t\r\n")) == 0 {
			return i, close, true
		}
	}
	return 0, false, false
}

// finish sets the end offset, size and line count once the body ended at st.
// When the line break before a boundary is also what ended a header (or the
// delimiter line before an empty part), it belongs to the boundary (RFC 2046
// §5.1.1): the part is cut back so that every part ending at this boundary,
// nested ones included, ends at the same offset.
func (part *Part) finish(st stop, lfStart int64) {
	part.EndOffset = st.end
	part.BodyOffset = min(part.BodyOffset, st.end)
	part.HeaderOffset = min(part.HeaderOffset, st.end)
	part.Size = part.EndOffset - part.BodyOffset
	if part.Size == 0 || !(part.Type == "text" || isMessage(part)) {
		return
	}
	// body-fld-lines counts lines; a last line without a line break
	// still counts.
	part.Lines = st.lfs - lfStart
	if !st.lastLF {
		part.Lines++
	}
}

// isMessage reports whether part encapsulates a message: message/rfc822,
// or message/global (RFC 6532 §3.7), which IMAP treats alike.
func isMessage(part *Part) bool {
	return part.Type == "message" && (part.Subtype == "rfc822" || part.Subtype == "global")
}

// identityEncoding reports whether a body is stored as is. RFC 2046 §5.2.1
// allows only these for message/rfc822; anything else is left opaque.
func identityEncoding(enc string) bool {
	return enc == "7BIT" || enc == "8BIT" || enc == "BINARY"
}

func appendCapped(dst, src []byte, limit int) []byte {
	if room := limit - len(dst); room < len(src) {
		src = src[:max(room, 0)]
	}
	return append(dst, src...)
}
