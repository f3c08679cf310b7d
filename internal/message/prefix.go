package message

import "strings"

// WithPrefix describes the message made of the header field lines h (each
// ending in CRLF) followed by the message p describes, as Parse would,
// without reading the message again: what a store keeps for a copy whose
// added header fields (Authentication-Results, a Sieve addheader …) are
// sent before the shared bytes. Every offset moves by len(h); the fields
// of h come before p.Headers, and what the top-level header gives
// (Envelope, sort and thread keys, the header part of Text) is derived
// again from them all, the first field of a name counting (RFC 5322 §3.6).
//
// p must be what Parse returned, with its Headers and Text: a Parsed read
// back from a store may lack them. p is not modified; parts are copied,
// their parameter maps and envelopes shared. The result equals Parse of the
// concatenation except past the limits (MaxHeaderFields, MaxTextSize), and
// provided h holds no MIME field (Content-*, RFC 2045 §3), which would
// change the structure, and p's message does not start with a
// continuation line. With h empty it returns p.
func (p *Parsed) WithPrefix(h string) *Parsed {
	if h == "" {
		return p
	}
	n := int64(len(h))
	pr := newParser(strings.NewReader(h))
	fields := pr.readHeader()
	out := &Parsed{Size: p.Size + n, HeaderSize: p.HeaderSize + n, StrayLine: p.StrayLine, Body: shiftPart(p.Body, n, 0), Preview: p.Preview}
	all := make([]HeaderField, 0, len(fields)+len(p.Headers))
	all = append(append(all, fields...), p.Headers...)
	pr.topHeader(out, all[:min(len(all), MaxHeaderFields)])
	out.TextBodyStart = len(pr.text.String())
	pr.text.add(bodyText(p))
	out.Text = pr.text.String()
	return out
}

// bodyText is the body's part of p.Text, without the line break that
// separates it from the header values before it.
func bodyText(p *Parsed) string {
	start := min(max(p.TextBodyStart, 0), len(p.Text))
	rest := p.Text[start:]
	if start > 0 && rest != "" {
		rest = rest[1:] // textBuilder.add's separator
	}
	return rest
}

// shiftPart copies a part tree with every offset moved by n, except the
// top-level part's HeaderOffset, which stays 0 (depth 0).
func shiftPart(pt *Part, n int64, depth int) *Part {
	if pt == nil {
		return nil
	}
	c := *pt
	if depth > 0 {
		c.HeaderOffset += n
	}
	c.BodyOffset += n
	c.EndOffset += n
	if pt.Parts != nil {
		c.Parts = make([]*Part, len(pt.Parts))
		for i, child := range pt.Parts {
			c.Parts[i] = shiftPart(child, n, depth+1)
		}
	}
	c.Message = shiftPart(pt.Message, n, depth+1)
	return &c
}
