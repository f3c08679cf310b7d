package fetch

import (
	"bytes"
	"io"
	"strings"

	"facteur.dev/facteur/internal/message"
)

// ConvertBinary returns BINARY[path]<partial> (s.Path, s.Partial) of a
// message/rfc822 or multipart part converted the way Dovecot converts it
// for URLFETCH's BINARY (RFC 5524 §3): every base64 or quoted-printable
// leaf inside is decoded and its Content-Transfer-Encoding field says
// binary. RFC 3516 alone would send such a part as stored, its own
// encoding being an identity one; RFC 5524 is about content a non-mail
// client can use, and imaptest's urlauth-binary group expects the
// conversion. A leaf is just decoded (ErrUnknownCTE for an encoding that
// cannot be). ConvertBinary also returns the part's structure with the
// converted sizes and line counts, which BODYPARTSTRUCTURE describes when
// BINARY is asked for too; the encodings stay as stored, as in Dovecot.
// out and structure are nil when the path names nothing.
func ConvertBinary(blob io.ReaderAt, size int64, p *message.Parsed, s Section) (out []byte, structure *message.Part, err error) {
	if p == nil || p.Body == nil {
		return nil, nil, nil
	}
	part := p.Body
	if len(s.Path) > 0 {
		part = p.Body.Section(s.Path...)
	}
	if part == nil {
		return nil, nil, nil
	}
	if _, _, err := binarySource(blob, size, p.Body, s.Path); err != nil {
		return nil, nil, err
	}
	c := converter{blob: blob, size: size}
	var buf bytes.Buffer
	write := c.body
	if len(s.Path) == 0 {
		write = c.entity // BINARY[]: the whole message, header too
	}
	if err := write(&buf, part); err != nil {
		return nil, nil, err
	}
	// The converted sizes come from parsing the part again: its own
	// header (for a part), then what was converted.
	var hdr []byte
	if len(s.Path) > 0 {
		if hdr, err = c.read(part.HeaderOffset, part.BodyOffset); err != nil {
			return nil, nil, err
		}
	}
	all := append(hdr, buf.Bytes()...)
	re, err := message.Parse(bytes.NewReader(all))
	if err != nil {
		return nil, nil, err
	}
	structure = overlaySizes(part, re.Body, all)
	off, n := s.clip(int64(buf.Len()))
	return buf.Bytes()[off : off+n], structure, nil
}

type converter struct {
	blob io.ReaderAt
	size int64
}

func (c converter) read(from, to int64) ([]byte, error) {
	sp := span{from, to}.clamp(c.size)
	b := make([]byte, sp.end-sp.off)
	_, err := c.blob.ReadAt(b, sp.off)
	if err == io.EOF {
		err = nil
	}
	return b, err
}

func (c converter) copy(w *bytes.Buffer, from, to int64) error {
	b, err := c.read(from, to)
	w.Write(b)
	return err
}

// entity writes a part with its header.
func (c converter) entity(w *bytes.Buffer, pt *message.Part) error {
	hdr, err := c.read(pt.HeaderOffset, pt.BodyOffset)
	if err != nil {
		return err
	}
	if isLeaf(pt) && decodable(pt.Encoding) {
		hdr = message.WithTransferEncoding(hdr, "binary")
	}
	w.Write(hdr)
	return c.body(w, pt)
}

// body writes a part's body: the encapsulated message, the children with
// what lies between them as stored, or the decoded leaf.
func (c converter) body(w *bytes.Buffer, pt *message.Part) error {
	switch {
	case pt.Message != nil:
		return c.children(w, pt, []*message.Part{pt.Message})
	case len(pt.Parts) > 0:
		return c.children(w, pt, pt.Parts)
	}
	b, err := c.read(pt.BodyOffset, pt.EndOffset)
	if err != nil || !decodable(pt.Encoding) {
		w.Write(b)
		return err
	}
	dec := newBase64Reader
	if strings.EqualFold(pt.Encoding, "QUOTED-PRINTABLE") {
		dec = newQPReader
	}
	_, err = w.ReadFrom(dec(bytes.NewReader(b)))
	return err
}

func (c converter) children(w *bytes.Buffer, pt *message.Part, kids []*message.Part) error {
	pos := pt.BodyOffset
	for _, k := range kids {
		if err := c.copy(w, pos, k.HeaderOffset); err != nil {
			return err
		}
		if err := c.entity(w, k); err != nil {
			return err
		}
		pos = k.EndOffset
	}
	return c.copy(w, pos, pt.EndOffset)
}

func isLeaf(pt *message.Part) bool { return pt.Message == nil && len(pt.Parts) == 0 }

func decodable(enc string) bool {
	return strings.EqualFold(enc, "BASE64") || strings.EqualFold(enc, "QUOTED-PRINTABLE")
}

// overlaySizes copies orig's tree with the sizes and line counts of re,
// the same tree parsed again from conv after conversion. Lines are the
// line ends in the converted body, as Dovecot counts them: "hello world"
// decoded from base64, with no line end, is 0 lines.
func overlaySizes(orig, re *message.Part, conv []byte) *message.Part {
	c := *orig
	if re == nil {
		return &c
	}
	c.Size = re.Size
	if orig.Lines != 0 || re.Lines != 0 {
		sp := span{re.BodyOffset, re.EndOffset}.clamp(int64(len(conv)))
		c.Lines = int64(bytes.Count(conv[sp.off:sp.end], []byte("\n")))
	}
	if orig.Message != nil {
		c.Message = overlaySizes(orig.Message, re.Message, conv)
	}
	c.Parts = make([]*message.Part, len(orig.Parts))
	for i, k := range orig.Parts {
		var rk *message.Part
		if i < len(re.Parts) {
			rk = re.Parts[i]
		}
		c.Parts[i] = overlaySizes(k, rk, conv)
	}
	return &c
}
