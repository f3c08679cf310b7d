package message

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// EncodeNULParts returns raw with every leaf part whose body holds a NUL
// byte re-encoded as base64 (RFC 2045 §6.8, lines of 76 characters) and
// its Content-Transfer-Encoding field changed to say so, and whether
// anything changed. A message appended as binary (RFC 3516 §4.4,
// literal8) may carry NULs, which no IMAP string outside BINARY[] can
// carry; stored this way, BODY[] and every other fetch stay sendable and
// BINARY[] still gives the original bytes, as with Dovecot. p is raw
// parsed.
func EncodeNULParts(raw []byte, p *Parsed) ([]byte, bool) {
	if p == nil || p.Body == nil || bytes.IndexByte(raw, 0) < 0 {
		return raw, false
	}
	var out bytes.Buffer
	pos := int64(0)
	changed := false
	walkLeaves(p.Body, func(pt *Part) {
		body := span(raw, pt.BodyOffset, pt.EndOffset)
		if bytes.IndexByte(body, 0) < 0 {
			return
		}
		out.Write(span(raw, pos, pt.HeaderOffset))
		out.Write(WithTransferEncoding(span(raw, pt.HeaderOffset, pt.BodyOffset), "base64"))
		writeBase64Lines(&out, body)
		pos, changed = pt.EndOffset, true
	})
	if !changed {
		return raw, false
	}
	out.Write(span(raw, pos, int64(len(raw))))
	return out.Bytes(), true
}

func walkLeaves(pt *Part, f func(*Part)) {
	switch {
	case pt.Message != nil:
		walkLeaves(pt.Message, f)
	case len(pt.Parts) > 0:
		for _, k := range pt.Parts {
			walkLeaves(k, f)
		}
	default:
		f(pt)
	}
}

func span(b []byte, from, to int64) []byte {
	from, to = min(max(from, 0), int64(len(b))), min(max(to, 0), int64(len(b)))
	if from > to {
		return nil
	}
	return b[from:to]
}

// WithTransferEncoding replaces a header section's
// Content-Transfer-Encoding field (with its folded lines) by one naming
// enc, or adds one before the blank line. The new line ends as the
// replaced one did (CRLF unless it was a bare LF).
func WithTransferEncoding(hdr []byte, enc string) []byte {
	var out bytes.Buffer
	field := "Content-Transfer-Encoding: " + enc
	skipping, done := false, false
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line = hdr[:i+1]
		}
		hdr = hdr[len(line):]
		folded := line[0] == ' ' || line[0] == '\t'
		blank := len(bytes.TrimRight(line, "\r\n")) == 0
		switch {
		case skipping && folded:
			continue
		case isField(line, "content-transfer-encoding"):
			skipping, done = true, true
			out.WriteString(field + lineEnd(line))
			continue
		case blank && !done:
			out.WriteString(field + lineEnd(line))
			done = true
		}
		skipping = false
		out.Write(line)
	}
	if !done {
		out.WriteString(field + "\r\n\r\n")
	}
	return out.Bytes()
}

func lineEnd(line []byte) string {
	if bytes.HasSuffix(line, []byte("\n")) && !bytes.HasSuffix(line, []byte("\r\n")) {
		return "\n"
	}
	return "\r\n"
}

func isField(line []byte, name string) bool {
	i := bytes.IndexByte(line, ':')
	return i > 0 && strings.EqualFold(strings.TrimRight(string(line[:i]), " \t"), name)
}

// writeBase64Lines writes b in base64, 76 characters and CRLF a line.
func writeBase64Lines(w *bytes.Buffer, b []byte) {
	enc := base64.StdEncoding.EncodeToString(b)
	for len(enc) > 76 {
		w.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	w.WriteString(enc + "\r\n")
}
