package arc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// field is one header field as received, with its folding; every line of
// raw ends in CRLF, whatever the message used.
type field struct {
	name string // the field name as written, "" for a line without a colon
	raw  string // "Name: value\r\n\tmore\r\n"
}

// value is what follows the field's colon, folding included.
func (f field) value() string {
	_, v, _ := strings.Cut(f.raw, ":")
	return v
}

// readHeader reads the header section of a message, up to the empty line
// that ends it or the end of the input (RFC 5322 §2.1, §2.2.3: a line
// that starts with white space continues the field before it).
func readHeader(r *bufio.Reader) ([]field, error) {
	var hdr []field
	for {
		line, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, err
		}
		if line == "" || line == "\n" || line == "\r\n" {
			return hdr, nil
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r") + "\r\n"
		if (line[0] == ' ' || line[0] == '\t') && len(hdr) > 0 {
			hdr[len(hdr)-1].raw += line
		} else {
			name, _, ok := strings.Cut(line, ":")
			if !ok {
				name = ""
			}
			hdr = append(hdr, field{name: strings.TrimRight(name, " \t"), raw: line})
		}
		if err == io.EOF {
			return hdr, nil
		}
	}
}

// fieldName reports whether s is a header field name (RFC 5322 §3.6.8:
// printable ASCII but the colon).
func fieldName(s string) bool {
	for _, c := range s {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return s != ""
}

// isWSP reports white space in the sense of RFC 5234 (SP, HTAB), with
// the CR and LF of folding.
func isWSP(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }

// parseTags reads a tag-list (RFC 6376 §3.2): "a=b; c=d", folding white
// space allowed around names and values. A duplicate or malformed tag
// makes the whole list invalid.
func parseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	for spec := range strings.SplitSeq(s, ";") {
		if strings.TrimFunc(spec, isWSP) == "" {
			continue // the list may end with ";"
		}
		name, value, ok := strings.Cut(spec, "=")
		name = strings.TrimFunc(name, isWSP)
		if !ok || !tagName(name) {
			return nil, fmt.Errorf("malformed tag %q", strings.TrimFunc(spec, isWSP))
		}
		if _, dup := tags[name]; dup {
			return nil, fmt.Errorf("duplicate tag %s=", name)
		}
		tags[name] = strings.TrimFunc(value, isWSP)
	}
	return tags, nil
}

// tagName is ALPHA *ALNUMPUNC (RFC 6376 §3.2).
func tagName(s string) bool {
	for i, c := range s {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return s != ""
}

// noSpace removes the white space that base64 values may be folded with
// (RFC 6376 §3.5, b= and bh=).
func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if isWSP(r) {
			return -1
		}
		return r
	}, s)
}

// MaxInstances is the highest instance an ARC set may have (RFC 8617
// §4.2.1.1): longer chains are invalid.
const MaxInstances = 50

// parseInstance reads the value of an i= tag: instance = 1*2DIGIT, from 1
// to 50 (RFC 8617 §4.2.1, §4.2.1.1). n is the number read even when it is
// out of range, 0 when it is not a number.
func parseInstance(s string) (n int, err error) {
	if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("instance %q is not a number (RFC 8617 §4.2.1)", s)
	}
	n, _ = strconv.Atoi(s)
	if n < 1 || n > MaxInstances || len(s) > 2 {
		return n, fmt.Errorf("instance %q is not in 1-%d (RFC 8617 §4.2.1.1)", s, MaxInstances)
	}
	return n, nil
}

// aarInstance splits an ARC-Authentication-Results value into its
// instance and its Authentication-Results payload (RFC 8617 §4.1.1:
// arc-info = arc-instance [CFWS] ";" authres-payload).
func aarInstance(v string) (int, string, error) {
	inst, payload, ok := strings.Cut(v, ";")
	name, num, eq := strings.Cut(inst, "=")
	if !ok || !eq || strings.TrimFunc(name, isWSP) != "i" {
		return 0, "", errors.New("ARC-Authentication-Results does not start with i= (RFC 8617 §4.1.1)")
	}
	n, err := parseInstance(strings.TrimFunc(num, isWSP))
	return n, unfold(payload), err
}

// unfold joins a folded value into one line, each run of white space
// made one space.
func unfold(s string) string { return strings.Join(strings.FieldsFunc(s, isWSP), " ") }
