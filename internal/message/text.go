package message

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

const (
	maxRawText     = 2 << 20 // body bytes of one text part kept for decoding
	maxDecodedText = 4 << 20 // bytes a charset conversion may produce
)

// textBuilder accumulates Parsed.Text up to MaxTextSize bytes.
type textBuilder struct{ b strings.Builder }

func (t *textBuilder) full() bool { return t.b.Len() >= MaxTextSize }

func (t *textBuilder) String() string { return t.b.String() }

// add appends s on a new line, cut at a character boundary if too long.
func (t *textBuilder) add(s string) {
	if s == "" || t.full() {
		return
	}
	if t.b.Len() > 0 {
		t.b.WriteByte('\n')
	}
	if room := MaxTextSize - t.b.Len(); len(s) > room {
		s = truncateUTF8(s, room)
	}
	t.b.WriteString(s)
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// wantText reports whether the body of a part of this type is needed, for
// Text or for the Preview.
func (p *parser) wantText(typ, sub, disp string) bool {
	return typ == "text" && (!p.text.full() || p.wantPreview(typ, sub, disp))
}

// wantPreview reports whether a part can give the RFC 8970 preview: the
// first text/plain or text/html part that is not an attachment.
func (p *parser) wantPreview(typ, sub, disp string) bool {
	return p.preview == "" && typ == "text" && (sub == "plain" || sub == "html") && disp != "attachment"
}

// beginText starts collecting the body of part if its text is wanted.
func (p *parser) beginText(part *Part) bool {
	if !p.wantText(part.Type, part.Subtype, part.Disposition) {
		return false
	}
	p.raw = p.raw[:0]
	return true
}

// endText decodes the collected body of part into Text and the Preview.
func (p *parser) endText(part *Part) {
	s := decodeText(p.raw, part.Encoding, part.Params["charset"])
	if part.Subtype == "html" {
		s = stripHTML(s)
	}
	if p.wantPreview(part.Type, part.Subtype, part.Disposition) {
		p.preview = makePreview(s)
	}
	p.text.add(s)
}

// decodeText undoes the transfer encoding (RFC 2045 §6) and converts the
// charset to UTF-8, leniently; line breaks become LF.
func decodeText(raw []byte, enc, cs string) string {
	b := raw
	switch enc {
	case "BASE64":
		b = decodeBase64(raw)
	case "QUOTED-PRINTABLE":
		b = decodeQP(raw)
	}
	return strings.ReplaceAll(toUTF8(b, cs), "\r\n", "\n")
}

// toUTF8 converts b from charset cs. An unknown charset keeps the bytes
// raw, a conversion error keeps what was converted; invalid UTF-8 becomes
// U+FFFD.
func toUTF8(b []byte, cs string) string {
	switch strings.ToLower(strings.TrimSpace(cs)) {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unknown-8bit", "x-unknown":
		return validUTF8(string(b))
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return validUTF8(string(b))
	}
	out, _ := io.ReadAll(io.LimitReader(r, maxDecodedText))
	return validUTF8(string(out))
}

// decodeBase64 decodes what it can (RFC 2045 §6.8): characters outside the
// alphabet are ignored, as are padding and a dangling final character.
func decodeBase64(raw []byte) []byte {
	clean := make([]byte, 0, len(raw))
	for _, c := range raw {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, _ := base64.RawStdEncoding.Decode(out, clean)
	return out[:n]
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7) leniently: an '=' that
// starts no valid escape is kept, and white space before a line break is
// dropped (rule 3).
func decodeQP(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
		} else {
			raw = nil
		}
		out = decodeQPLine(out, line)
	}
	return out
}

func decodeQPLine(out, line []byte) []byte {
	body := bytes.TrimRight(line, "\r\n")
	brk := len(body) < len(line)
	body = bytes.TrimRight(body, " \t")
	soft := len(body) > 0 && body[len(body)-1] == '='
	if soft {
		body = body[:len(body)-1]
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '=' && i+2 < len(body) && isHex(body[i+1]) && isHex(body[i+2]) {
			c = unhex(body[i+1])<<4 | unhex(body[i+2])
			i += 2
		}
		out = append(out, c)
	}
	if brk && !soft {
		out = append(out, '\n')
	}
	return out
}

// stripHTML roughly turns HTML into text: tags, comments, scripts and
// styles go, block-level tags become line breaks, entities are decoded.
func stripHTML(s string) string {
	lower := asciiLower(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+lt])
		i += lt
		if !startsTag(s[i+1:]) {
			b.WriteByte('<')
			i++
			continue
		}
		i = skipTag(lower, i, &b)
	}
	return html.UnescapeString(b.String())
}

// startsTag reports whether what follows a '<' looks like markup.
func startsTag(s string) bool {
	return s != "" && (s[0] == '/' || s[0] == '!' || s[0] == '?' ||
		'a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z')
}

// skipTag skips the markup starting at lower[i] == '<' and returns the index
// after it.
func skipTag(lower string, i int, b *strings.Builder) int {
	if strings.HasPrefix(lower[i:], "<!--") {
		return skipPast(lower, i+4, "-->")
	}
	gt := strings.IndexByte(lower[i:], '>')
	if gt < 0 {
		return len(lower)
	}
	name := tagName(lower[i+1 : i+gt])
	end := i + gt + 1
	switch name {
	case "script", "style", "head", "title":
		return skipPast(lower, end, "</"+name)
	case "br", "p", "/p", "div", "/div", "tr", "/tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
		"/h1", "/h2", "/h3", "/h4", "/h5", "/h6", "table", "/table", "blockquote", "/blockquote", "hr":
		b.WriteByte('\n')
	case "td", "th":
		b.WriteByte(' ')
	}
	return end
}

// skipPast returns the index after the first marker at or after i (after
// the '>' that closes it for an end tag), or the end of s.
func skipPast(s string, i int, marker string) int {
	j := strings.Index(s[i:], marker)
	if j < 0 {
		return len(s)
	}
	j += i + len(marker)
	if strings.HasPrefix(marker, "</") {
		if gt := strings.IndexByte(s[j:], '>'); gt >= 0 {
			return j + gt + 1
		}
		return len(s)
	}
	return j
}

// tagName is the name of a tag from its inside, "/p" for an end tag.
func tagName(in string) string {
	n := 0
	if strings.HasPrefix(in, "/") {
		n = 1
	}
	for n < len(in) && (in[n] >= 'a' && in[n] <= 'z' || in[n] >= '0' && in[n] <= '9') {
		n++
	}
	return in[:n]
}

// asciiLower lowercases ASCII letters only, keeping byte offsets.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// makePreview builds the RFC 8970 preview: white space and control
// characters collapsed to single spaces, at most MaxPreview characters.
func makePreview(s string) string {
	var b strings.Builder
	n, space := 0, false
	for _, c := range s {
		if unicode.IsSpace(c) || unicode.IsControl(c) {
			space = true
			continue
		}
		if space && n > 0 {
			if n+2 > MaxPreview {
				break
			}
			b.WriteByte(' ')
			n++
		} else if n+1 > MaxPreview {
			break
		}
		space = false
		b.WriteRune(c)
		n++
	}
	return b.String()
}
