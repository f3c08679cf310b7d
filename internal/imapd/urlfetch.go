package imapd

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"facteur.dev/facteur/internal/imapd/fetch"
	"facteur.dev/facteur/internal/message"
)

// urlFetchArg is one URL of URLFETCH with what RFC 5524 asks for it.
type urlFetchArg struct {
	raw       string
	ext       bool // "(" url params ")": answered with metadata items
	body, bin bool // BODY, BINARY
	structure bool // BODYPARTSTRUCTURE
}

// urlFetch: RFC 4467 §7.3, URLFETCH url ..., and RFC 5524 §3,
// URLFETCH (url [BODY / BINARY] [BODYPARTSTRUCTURE]) .... Each URL gets
// one "* URLFETCH url data" response; data is NIL whenever the URL is not
// valid for this session for any reason. Nothing here sets \Seen.
func (s *session) urlFetch(c *cmd) error {
	var args []urlFetchArg
	for {
		if err := s.dec.SP(); err != nil {
			return err
		}
		a, err := s.urlFetchArg()
		if err != nil {
			return err
		}
		args = append(args, a)
		if b, _ := s.dec.Peek(); b != ' ' {
			break
		}
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	for _, a := range args {
		if err := s.urlFetchOne(a); err != nil {
			return err
		}
	}
	return nil
}

// urlFetchArg reads url-full or "(" url-full *(SP url-fetch-param) ")".
func (s *session) urlFetchArg() (urlFetchArg, error) {
	var a urlFetchArg
	var err error
	if !s.dec.Consume('(') {
		a.raw, err = s.dec.AString()
		return a, err
	}
	a.ext = true
	if a.raw, err = s.dec.AString(); err != nil {
		return a, err
	}
	for s.dec.Consume(' ') {
		p, err := s.dec.Atom()
		if err != nil {
			return a, err
		}
		switch strings.ToUpper(p) {
		case "BODY":
			a.body = true
		case "BINARY":
			a.bin = true
		case "BODYPARTSTRUCTURE":
			a.structure = true
		default:
			return a, bad("Unknown URLFETCH parameter %s", p)
		}
	}
	switch {
	case !s.dec.Consume(')'):
		return a, bad("Expected ) after the URLFETCH parameters")
	case a.body && a.bin:
		return a, bad("URLFETCH takes BODY or BINARY, not both") // RFC 5524 §3.1
	case !a.body && !a.bin && !a.structure:
		a.body = true
	}
	return a, nil
}

// urlReply is what one URL returns: the section, as stored or decoded
// (BINARY; nil when it cannot be decoded), and the structure of the
// part (BODYPARTSTRUCTURE; nil when the URL names no part).
type urlReply struct {
	body      io.Reader
	n         int64
	structure []byte
}

// urlFetchOne writes the response for one URL.
func (s *session) urlFetchOne(a urlFetchArg) error {
	s.enc.Raw("* URLFETCH ").AString(a.raw)
	u, ok := parseIMAPURL(a.raw)
	var owner int64
	if ok {
		owner, ok = s.authorize(u)
	}
	if !ok {
		s.enc.Raw(" NIL").CRLF()
		return nil
	}
	d, err := s.openURL(owner, u)
	if errors.Is(err, errBadURL) {
		s.enc.Raw(" NIL").CRLF()
		return nil
	}
	if err != nil {
		s.enc.Raw(" NIL").CRLF()
		return err
	}
	defer d.blob.Close()
	r, err := s.urlReply(a, d)
	if err != nil || !a.ext && r.body == nil {
		s.enc.Raw(" NIL").CRLF()
		return nil
	}
	return s.writeURLReply(a, r)
}

// urlReply extracts what a asks for from the opened URL.
func (s *session) urlReply(a urlFetchArg, d urlData) (urlReply, error) {
	var r urlReply
	p := parsedOf(d.m)
	var err error
	switch {
	case a.bin && d.sec.Specifier == "" && !a.structure && isLeaf(partOf(p, d.sec.Path)):
		// A leaf alone is decoded as it streams, as FETCH BINARY does.
		sec := d.sec
		sec.Binary = true
		r.body, r.n, err = fetch.Extract(d.blob, d.m.Size, p, sec)
		if errors.Is(err, fetch.ErrUnknownCTE) {
			r.body, err = nil, nil // BINARY NIL (RFC 5524 §3.1)
		}
		return r, err
	case a.bin && d.sec.Specifier == "":
		out, st, err := fetch.ConvertBinary(d.blob, d.m.Size, p, d.sec)
		if errors.Is(err, fetch.ErrUnknownCTE) {
			return r, nil // BINARY NIL (RFC 5524 §3.1)
		}
		if err != nil || st == nil {
			return r, err
		}
		r.body, r.n = bytes.NewReader(out), int64(len(out))
		if a.structure {
			r.structure = fetch.AppendBodyStructure(nil, st, true, s.utf8Mode())
		}
		return r, nil
	case a.bin && d.sec.Specifier == fetch.SpecText:
		// TEXT may be encoded and BINARY decodes only parts: NIL.
	default: // BODY, and BINARY of header sections, which are never encoded
		r.body, r.n, err = fetch.Extract(d.blob, d.m.Size, p, d.sec)
	}
	if a.structure && d.sec.Specifier == "" {
		if part := partOf(p, d.sec.Path); part != nil {
			r.structure = fetch.AppendBodyStructure(nil, part, true, s.utf8Mode())
		}
	}
	return r, err
}

// isLeaf tells a part that is neither multipart nor message/rfc822.
func isLeaf(pt *message.Part) bool { return pt != nil && pt.Message == nil && len(pt.Parts) == 0 }

// partOf is the part a section path names; the message's body for none.
func partOf(p *message.Parsed, path []int) *message.Part {
	if len(path) == 0 {
		return p.Body
	}
	return p.Body.Section(path...)
}

// writeURLReply writes the data after "* URLFETCH url": a literal, or
// RFC 5524's metadata items in one list, "(BODYPARTSTRUCTURE (…) BINARY
// {n}…)", as Dovecot sends them and imaptest's urlauth-binary group
// expects; BINARY's data is a literal8 (~{n}), as in FETCH BINARY.
func (s *session) writeURLReply(a urlFetchArg, r urlReply) error {
	if !a.ext {
		s.enc.SP()
		if err := s.urlLiteral(r, false); err != nil {
			return err
		}
		s.enc.CRLF()
		return nil
	}
	s.enc.Raw(" (")
	if r.structure != nil {
		s.enc.Raw("BODYPARTSTRUCTURE ").Bytes(r.structure)
		if a.body || a.bin {
			s.enc.SP()
		}
	}
	if a.body || a.bin {
		name := "BODY "
		if a.bin {
			name = "BINARY "
		}
		s.enc.Raw(name)
		if r.body == nil {
			s.enc.Raw("NIL")
		} else if err := s.urlLiteral(r, a.bin); err != nil {
			return err
		}
	}
	s.enc.Raw(")").CRLF()
	return nil
}

// urlLiteral streams the data as a literal, a literal8 for BINARY.
func (s *session) urlLiteral(r urlReply, binary bool) error {
	if err := s.enc.Literal(r.n, r.body, binary); err != nil {
		return errConnBroken
	}
	return nil
}
