package fetch

import (
	"bytes"
	"io"
	"strings"

	"facteur.dev/facteur/internal/message"
)

// BinarySize returns the size of BINARY[path] (RFC 3516 §4.2, BINARY.SIZE):
// the decoded size of a base64 or quoted-printable leaf, found by decoding
// it, or the stored size of anything else. It returns ErrUnknownCTE for an
// unknown encoding and 0 for a part number that designates nothing.
func BinarySize(blob io.ReaderAt, size int64, p *message.Parsed, path []int) (int64, error) {
	if p == nil || p.Body == nil {
		return 0, nil
	}
	src, decode, err := binarySource(blob, size, p.Body, path)
	if err != nil || src == nil {
		return 0, err
	}
	if decode == nil {
		return src.Size(), nil
	}
	return io.Copy(io.Discard, decode(src))
}

// extractBinary implements Extract for BINARY[path]<partial>.
func extractBinary(blob io.ReaderAt, size int64, top *message.Part, s Section) (io.Reader, int64, error) {
	if s.Specifier != "" {
		return nil, 0, syntaxError("BINARY takes part numbers only, not %s", s.Specifier)
	}
	src, decode, err := binarySource(blob, size, top, s.Path)
	if err != nil || src == nil {
		return empty(err)
	}
	if decode == nil {
		off, n := s.clip(src.Size())
		return io.NewSectionReader(src, off, n), n, nil
	}
	if src.Size() <= memDecodeLimit {
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(decode(src)); err != nil {
			return nil, 0, err
		}
		off, n := s.clip(int64(buf.Len()))
		return bytes.NewReader(buf.Bytes()[off : off+n]), n, nil
	}
	total, err := io.Copy(io.Discard, decode(io.NewSectionReader(src, 0, src.Size())))
	if err != nil {
		return nil, 0, err
	}
	off, n := s.clip(total)
	r := decode(io.NewSectionReader(src, 0, src.Size()))
	return io.LimitReader(&skipReader{r: r, skip: off}, n), n, nil
}

// binarySource returns the stored bytes of BINARY[path] and the decoder to
// apply, nil when they are sent as they are. src is nil when path
// designates nothing. BINARY[] is the whole message; a multipart or a
// parsed message/rfc822 is sent as stored: MIME allows only identity
// encodings for them (RFC 2045 §6.4).
func binarySource(blob io.ReaderAt, size int64, top *message.Part, path []int) (src *io.SectionReader, decode func(io.Reader) io.Reader, err error) {
	if len(path) == 0 {
		sp := span{top.HeaderOffset, top.EndOffset}.clamp(size)
		return io.NewSectionReader(blob, sp.off, sp.end-sp.off), nil, nil
	}
	part := top.Section(path...)
	if part == nil {
		return nil, nil, nil
	}
	sp := span{part.BodyOffset, part.EndOffset}.clamp(size)
	src = io.NewSectionReader(blob, sp.off, sp.end-sp.off)
	if len(part.Parts) > 0 || part.Message != nil {
		return src, nil, nil
	}
	switch strings.ToUpper(part.Encoding) {
	case "", "7BIT", "8BIT", "BINARY":
		return src, nil, nil
	case "BASE64":
		return src, newBase64Reader, nil
	case "QUOTED-PRINTABLE":
		return src, newQPReader, nil
	default:
		return nil, nil, ErrUnknownCTE
	}
}

// skipReader discards the first skip bytes of r, on the first Read.
type skipReader struct {
	r    io.Reader
	skip int64
}

func (s *skipReader) Read(p []byte) (int, error) {
	if s.skip > 0 {
		n, err := io.CopyN(io.Discard, s.r, s.skip)
		s.skip -= n
		if err != nil {
			return 0, err
		}
	}
	return s.r.Read(p)
}
