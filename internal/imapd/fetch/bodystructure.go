package fetch

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/message"
)

// AppendBodyStructure appends the body structure of p (RFC 9051 §7.5.2,
// RFC 3501 §7.4.2): BODY when extended is false, BODYSTRUCTURE when it is
// true. The result is the parenthesised "body" production; the caller
// writes "BODY " or "BODYSTRUCTURE " before it.
//
//   - A single part is (type subtype (params) id description encoding
//     size), then lines for text/*, then envelope, body and lines for a
//     parsed message/rfc822 or message/global; an opaque one (Message nil,
//     e.g. base64-encoded) is shown as a basic part.
//   - A multipart is (body body ... subtype).
//   - Extension data (extended only): md5 (disposition) language location
//     for a single part, (params) (disposition) language location for a
//     multipart.
//
// Case: types, subtypes, disposition types and parameter names are sent
// in uppercase, as in the RFC examples ("TEXT" "PLAIN" ("CHARSET"
// "US-ASCII")); parameter values and the other fields are sent as stored.
// text/* without a charset parameter gets ("CHARSET" "us-ascii"), its
// default (RFC 2045 §5.2). Parameters are sorted by name: the order in the
// header is not stored.
func AppendBodyStructure(b []byte, p *message.Part, extended, utf8 bool) []byte {
	w := bodyWriter{extended: extended, utf8: utf8}
	return w.body(b, p)
}

type bodyWriter struct {
	extended, utf8 bool
}

// emptyPart stands for a missing part, which a valid message never has.
var emptyPart = &message.Part{Type: "text", Subtype: "plain", Encoding: "7BIT"}

func (w bodyWriter) body(b []byte, p *message.Part) []byte {
	if p == nil {
		p = emptyPart
	}
	b = append(b, '(')
	if p.Type == "multipart" && len(p.Parts) > 0 {
		b = w.multipart(b, p)
	} else {
		b = w.single(b, p)
	}
	return append(b, ')')
}

// multipart appends body-type-mpart: 1*body SP media-subtype
// [SP body-ext-mpart].
func (w bodyWriter) multipart(b []byte, p *message.Part) []byte {
	for _, c := range p.Parts {
		b = w.body(b, c)
	}
	b = append(b, ' ')
	b = appendString(b, strings.ToUpper(p.Subtype), w.utf8)
	if !w.extended {
		return b
	}
	b = append(b, ' ')
	b = w.params(b, p.Params)
	return w.extension(b, p)
}

// single appends body-type-1part [SP body-ext-1part].
func (w bodyWriter) single(b []byte, p *message.Part) []byte {
	typ, sub := p.Type, p.Subtype
	if p.Type == "multipart" { // no children: cannot be shown as a multipart
		typ, sub = "text", "plain"
	}
	b = appendString(b, strings.ToUpper(typ), w.utf8)
	b = append(b, ' ')
	b = appendString(b, strings.ToUpper(sub), w.utf8)
	b = append(b, ' ')
	params := p.Params
	if _, ok := params["charset"]; typ == "text" && !ok {
		params = maps.Clone(params)
		if params == nil {
			params = map[string]string{}
		}
		params["charset"] = "us-ascii"
	}
	b = w.params(b, params)
	b = append(b, ' ')
	b = appendNString(b, p.ID, w.utf8)
	b = append(b, ' ')
	b = appendNString(b, p.Description, w.utf8)
	b = append(b, ' ')
	enc := p.Encoding
	if enc == "" {
		enc = "7BIT"
	}
	b = appendString(b, enc, w.utf8)
	b = append(b, ' ')
	b = strconv.AppendInt(b, p.Size, 10)
	switch {
	case typ == "text":
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.Lines, 10)
	case p.Message != nil && typ == "message":
		b = append(b, ' ')
		b = AppendEnvelope(b, p.Envelope, w.utf8)
		b = append(b, ' ')
		b = w.body(b, p.Message)
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.Lines, 10)
	}
	if !w.extended {
		return b
	}
	b = append(b, ' ')
	b = appendNString(b, p.MD5, w.utf8)
	return w.extension(b, p)
}

// extension appends the fields both kinds of extension data end with:
// SP body-fld-dsp SP body-fld-lang SP body-fld-loc.
func (w bodyWriter) extension(b []byte, p *message.Part) []byte {
	b = append(b, ' ')
	if p.Disposition == "" {
		b = append(b, "NIL"...)
	} else {
		b = append(b, '(')
		b = appendString(b, strings.ToUpper(p.Disposition), w.utf8)
		b = append(b, ' ')
		b = w.params(b, p.DispositionParams)
		b = append(b, ')')
	}
	b = append(b, ' ')
	if len(p.Language) == 0 {
		b = append(b, "NIL"...)
	} else {
		b = append(b, '(')
		for i, l := range p.Language {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendString(b, l, w.utf8)
		}
		b = append(b, ')')
	}
	b = append(b, ' ')
	return appendNString(b, p.Location, w.utf8)
}

// params appends body-fld-param: ("NAME" "value" ...) sorted by name, or
// NIL.
func (w bodyWriter) params(b []byte, m map[string]string) []byte {
	if len(m) == 0 {
		return append(b, "NIL"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '(')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendString(b, strings.ToUpper(k), w.utf8)
		b = append(b, ' ')
		if v := m[k]; v == "" {
			b = append(b, `""`...) // a string, never NIL
		} else {
			b = appendText(b, v, w.utf8)
		}
	}
	return append(b, ')')
}
