package fetch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"facteur.dev/facteur/internal/message"
)

// memDecodeLimit is the largest encoded part BINARY decodes into memory in
// one pass; larger parts are decoded twice (once to count, once to send)
// so that memory stays bounded.
const memDecodeLimit = 1 << 20

// span is a byte range [off, end) of the stored message.
type span struct{ off, end int64 }

// Extract returns the bytes of section s of a message: r yields exactly n
// bytes (unless blob fails). blob holds the stored message, size bytes, and
// p is what message.Parse made of it. RFC 9051 §6.4.5:
//
//   - BODY[] is the whole message, BODY[HEADER] its header with the blank
//     line, BODY[TEXT] what follows the header.
//   - BODY[n] is the body of part n (for a non-multipart message, part 1 is
//     its body; for a multipart part, the body with its nested boundaries;
//     for a message/rfc822 part, the whole encapsulated message), and
//     BODY[n.MIME] its MIME header (for part 1 of a non-multipart message,
//     the message header).
//   - BODY[n.HEADER], n.TEXT and n.HEADER.FIELDS need part n to be
//     message/rfc822 (ErrNotMessage otherwise) and select from the
//     encapsulated message. For an opaque one (see package message) they
//     are empty.
//   - HEADER.FIELDS(.NOT) keeps (drops) the fields named, compared
//     case-insensitively, as raw bytes with their folding, followed by a
//     blank line.
//   - A part number that designates nothing gives an empty string.
//   - <offset.count> clips the result; past the end it is empty.
//   - BINARY (RFC 3516) decodes base64 and quoted-printable leaves (errors
//     in the encoded data are skipped, never reported), sends other
//     identity-encoded or structured content as it is, and returns
//     ErrUnknownCTE for any other encoding.
//
// Contiguous sections are streamed from blob with an *io.SectionReader
// (nothing is read before the caller reads); HEADER.FIELDS reads only the
// header and builds the result in memory.
func Extract(blob io.ReaderAt, size int64, p *message.Parsed, s Section) (r io.Reader, n int64, err error) {
	if p == nil || p.Body == nil {
		return nil, 0, errors.New("fetch: no parsed message")
	}
	if s.Binary {
		return extractBinary(blob, size, p.Body, s)
	}
	ent, sp, err := locate(p.Body, s)
	if err != nil || ent == nil {
		return empty(err)
	}
	sp = sp.clamp(size)
	if s.Specifier == SpecHeaderFields || s.Specifier == SpecHeaderFieldsNot {
		h, err := filterHeader(io.NewSectionReader(blob, sp.off, sp.end-sp.off), s.Fields, s.Specifier == SpecHeaderFieldsNot)
		if err != nil {
			return nil, 0, err
		}
		off, n := s.clip(int64(len(h)))
		return bytes.NewReader(h[off : off+n]), n, nil
	}
	off, n := s.clip(sp.end - sp.off)
	return io.NewSectionReader(blob, sp.off+off, n), n, nil
}

// locate finds the entity s designates and the bytes to send (or, for
// HEADER.FIELDS, to filter). A nil part with a nil error means an empty
// result.
func locate(top *message.Part, s Section) (*message.Part, span, error) {
	part, msg := top, top // msg: the message HEADER and TEXT refer to
	if len(s.Path) > 0 {
		part = top.Section(s.Path...)
		if part == nil {
			return nil, span{}, nil
		}
		msg = part.Message
	}
	switch s.Specifier {
	case "":
		if len(s.Path) == 0 {
			return part, span{part.HeaderOffset, part.EndOffset}, nil
		}
		return part, span{part.BodyOffset, part.EndOffset}, nil
	case SpecMIME:
		if len(s.Path) == 0 {
			return nil, span{}, syntaxError("MIME needs a part number")
		}
		return part, span{part.HeaderOffset, part.BodyOffset}, nil
	case SpecHeader, SpecHeaderFields, SpecHeaderFieldsNot, SpecText:
		if msg == nil {
			if isMessage(part) {
				return nil, span{}, nil // opaque message/rfc822
			}
			return nil, span{}, fmt.Errorf("%w (part %s is %s/%s)", ErrNotMessage, pathString(s.Path), part.Type, part.Subtype)
		}
		if s.Specifier == SpecText {
			return msg, span{msg.BodyOffset, msg.EndOffset}, nil
		}
		return msg, span{msg.HeaderOffset, msg.BodyOffset}, nil
	default:
		return nil, span{}, syntaxError("unknown section text %q", s.Specifier)
	}
}

func isMessage(p *message.Part) bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")
}

func pathString(path []int) string {
	return string(Section{Path: path}.appendSpec(nil))
}

// clamp keeps sp inside [0, size), should the blob be shorter than what
// was parsed.
func (sp span) clamp(size int64) span {
	sp.off = min(max(sp.off, 0), size)
	sp.end = min(max(sp.end, sp.off), size)
	return sp
}

// clip applies the partial <offset.count> to n bytes and returns the
// offset and length to send.
func (s Section) clip(n int64) (off, cnt int64) {
	if !s.Partial {
		return 0, n
	}
	off = min(max(s.Offset, 0), n)
	return off, min(max(s.Count, 0), n-off)
}

func empty(err error) (io.Reader, int64, error) {
	if err != nil {
		return nil, 0, err
	}
	return strings.NewReader(""), 0, nil
}

// filterHeader returns the fields of header h whose name is in names
// (compared case-insensitively), or not in names if not is set: each field
// as raw bytes, continuation lines included, then CRLF (RFC 9051 §6.4.5).
// It reads h once and keeps only what it returns.
func filterHeader(h io.Reader, names []string, not bool) ([]byte, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	br := bufio.NewReaderSize(h, 4096)
	var out []byte
	keep, bol, lf := false, true, true // lf: out ends a line
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if bol {
				if isBlank(line) {
					break
				}
				if line[0] != ' ' && line[0] != '\t' {
					name, ok := fieldName(line)
					keep = ok && want[strings.ToLower(name)] != not
				}
			}
			if keep {
				out = append(out, line...)
				lf = line[len(line)-1] == '\n'
			}
			bol = line[len(line)-1] == '\n'
		}
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
	if !lf {
		out = append(out, "\r\n"...)
	}
	return append(out, "\r\n"...), nil
}

func isBlank(line []byte) bool {
	return string(line) == "\r\n" || string(line) == "\n"
}

// fieldName returns the name of the header field that line starts (RFC
// 5322 §2.2; white space before the colon, §4.5, is allowed).
func fieldName(line []byte) (string, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 || bytes.ContainsAny(name, " \t\r\n") {
		return "", false
	}
	return string(name), true
}
