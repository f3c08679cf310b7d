package search

import (
	"errors"
	"fmt"
	"strings"

	"facteur.dev/facteur/internal/imapd/imapwire"
)

// ErrBadCharset is returned by Parse for a CHARSET other than UTF-8 and
// US-ASCII: the session answers NO [BADCHARSET (UTF-8 US-ASCII)] (RFC 9051
// §6.4.4, §7.1) and discards the rest of the line.
var ErrBadCharset = errors.New("search: unsupported charset")

// BadCharsetCode is the response code that goes with ErrBadCharset.
const BadCharsetCode = "BADCHARSET (UTF-8 US-ASCII)"

// Options change what Parse accepts.
type Options struct {
	// Rev2: the session enabled IMAP4rev2 (RFC 9051). Reserved: both
	// revisions' keys are accepted either way.
	Rev2 bool
	// UpdateFetch, when set, reads the fetch attributes that may follow
	// the UPDATE return option, from the "(" on (RFC 5465 §7, for a
	// server with NOTIFY).
	UpdateFetch func() error
}

// maxDepth bounds the nesting of NOT, OR and parentheses.
const maxDepth = 64

// Parse reads the arguments of a SEARCH, SORT or THREAD command, from the
// SP after the command name up to (not including) the CRLF:
//
//	SEARCH [RETURN (opts)] [CHARSET cs] keys            RFC 9051, RFC 4731
//	SORT [RETURN (opts)] (criteria) charset keys        RFC 5256, RFC 5267
//	THREAD algorithm charset keys                       RFC 5256
//
// Errors wrap imapwire.ErrSyntax (BAD), or are ErrBadCharset, or come from
// the decoder (see imapwire.IsFatal).
func Parse(dec *imapwire.Decoder, kind Kind, opts Options) (*Command, error) {
	p := &parser{d: dec, opts: opts}
	c := &Command{Kind: kind}
	if err := dec.SP(); err != nil {
		return nil, err
	}
	var first string
	var err error
	switch kind {
	case Thread:
		err = p.threadHeader(c)
	case Sort:
		err = p.sortHeader(c)
	default:
		first, err = p.searchHeader(c)
	}
	if err != nil {
		return nil, err
	}
	top := &Key{Op: OpAnd}
	for {
		k, err := p.key(0, first)
		if err != nil {
			return nil, err
		}
		first = ""
		top.Keys = append(top.Keys, k)
		if dec.AtEnd() {
			break
		}
		if err := dec.SP(); err != nil {
			return nil, err
		}
	}
	c.Key = top
	c.modseq, c.parsed, c.row, c.sent = p.modseq, p.parsed || kind != Search, p.row || kind != Search, p.parsed
	c.email = p.email
	return c, nil
}

type parser struct {
	d      *imapwire.Decoder
	opts   Options
	modseq bool // MODSEQ seen
	parsed bool // a key needs Msg.Parsed
	row    bool // a key needs dates, sizes or object IDs
	email  bool // EMAILID seen
}

func syntax(format string, args ...any) error {
	return fmt.Errorf("%w: %s", imapwire.ErrSyntax, fmt.Sprintf(format, args...))
}

// searchHeader reads [RETURN (opts) SP] [CHARSET cs SP] and returns the
// atom it read past them, if any: the start of the first search key.
func (p *parser) searchHeader(c *Command) (string, error) {
	a, err := p.leadingAtom()
	if err != nil || a == "" {
		return "", err
	}
	if strings.EqualFold(a, "RETURN") {
		if err := p.returnOpts(c); err != nil {
			return "", err
		}
		if err := p.d.SP(); err != nil {
			return "", err
		}
		if a, err = p.leadingAtom(); err != nil || a == "" {
			return "", err
		}
	}
	if !strings.EqualFold(a, "CHARSET") {
		return a, nil
	}
	if err := p.d.SP(); err != nil {
		return "", err
	}
	if err := p.charset(c); err != nil {
		return "", err
	}
	return "", p.d.SP()
}

// leadingAtom reads an atom if the next byte is a letter.
func (p *parser) leadingAtom() (string, error) {
	b, err := p.d.Peek()
	if err != nil {
		return "", err
	}
	if !isLetter(b) {
		return "", nil
	}
	return p.d.Atom()
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// charset reads a charset (atom or quoted) and checks it.
func (p *parser) charset(c *Command) error {
	cs, err := p.d.AString()
	if err != nil {
		return err
	}
	c.Charset = strings.ToUpper(cs)
	if c.Charset != "UTF-8" && c.Charset != "US-ASCII" {
		return ErrBadCharset
	}
	return nil
}

// threadHeader reads algorithm SP charset SP.
func (p *parser) threadHeader(c *Command) error {
	a, err := p.d.Atom()
	if err != nil {
		return err
	}
	c.Algo = strings.ToUpper(a)
	if c.Algo != "ORDEREDSUBJECT" && c.Algo != "REFERENCES" {
		return syntax("unknown thread algorithm %q", a)
	}
	if err := p.d.SP(); err != nil {
		return err
	}
	if err := p.charset(c); err != nil {
		return err
	}
	return p.d.SP()
}

// sortHeader reads [RETURN (opts) SP] (criteria) SP charset SP.
func (p *parser) sortHeader(c *Command) error {
	a, err := p.leadingAtom()
	if err != nil {
		return err
	}
	if a != "" {
		if !strings.EqualFold(a, "RETURN") {
			return syntax("expected sort criteria, found %q", a)
		}
		if err := p.returnOpts(c); err != nil {
			return err
		}
		if err := p.d.SP(); err != nil {
			return err
		}
	}
	if err := p.sortCriteria(c); err != nil {
		return err
	}
	if err := p.d.SP(); err != nil {
		return err
	}
	if err := p.charset(c); err != nil {
		return err
	}
	return p.d.SP()
}

// sortCriteria reads "(" sort-criterion *(SP sort-criterion) ")".
func (p *parser) sortCriteria(c *Command) error {
	reverse := false
	err := p.d.List(func() error {
		a, err := p.d.Atom()
		if err != nil {
			return err
		}
		a = strings.ToUpper(a)
		switch a {
		case "REVERSE":
			if reverse {
				return syntax("REVERSE REVERSE")
			}
			reverse = true
			return nil
		case "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO":
			c.SortBy = append(c.SortBy, SortKey{By: a, Reverse: reverse})
			reverse = false
			return nil
		}
		return syntax("unknown sort key %q", a)
	})
	if err != nil {
		return err
	}
	if reverse || len(c.SortBy) == 0 {
		return syntax("incomplete sort criteria")
	}
	return nil
}

// returnOpts reads SP "(" [return options] ")" after RETURN.
func (p *parser) returnOpts(c *Command) error {
	if err := p.d.SP(); err != nil {
		return err
	}
	r := &ReturnOpts{}
	if err := p.d.List(func() error { return p.returnOpt(r) }); err != nil {
		return err
	}
	if !r.Min && !r.Max && !r.Count && !r.Save && !r.All && r.Partial == nil {
		r.All = true // RFC 4731 §3.1: RETURN () means RETURN (ALL)
	}
	c.Return = r
	return nil
}

func (p *parser) returnOpt(r *ReturnOpts) error {
	a, err := p.d.Atom()
	if err != nil {
		return err
	}
	switch strings.ToUpper(a) {
	case "MIN":
		r.Min = true
	case "MAX":
		r.Max = true
	case "ALL":
		r.All = true
	case "COUNT":
		r.Count = true
	case "SAVE":
		r.Save = true
	case "CONTEXT":
		r.Context = true
	case "UPDATE":
		r.Update = true
		if p.opts.UpdateFetch != nil && string(p.d.PeekBytes(2)) == " (" {
			p.d.SP()
			return p.opts.UpdateFetch()
		}
	case "PARTIAL":
		if r.Partial != nil {
			return syntax("PARTIAL twice")
		}
		if err := p.d.SP(); err != nil {
			return err
		}
		r.Partial, err = p.partial()
		return err
	default:
		return syntax("unknown RETURN option %q", a)
	}
	return nil
}

// partial reads a partial-range: nz-number ":" nz-number, or with both
// negative (RFC 9394 §3).
func (p *parser) partial() (*Partial, error) {
	neg := p.d.Consume('-')
	a, err := p.d.NZNumber()
	if err != nil {
		return nil, err
	}
	if !p.d.Consume(':') {
		return nil, syntax("expected ':' in partial range")
	}
	if neg != p.d.Consume('-') {
		return nil, syntax("partial range mixes signs")
	}
	b, err := p.d.NZNumber()
	if err != nil {
		return nil, err
	}
	return &Partial{First: min(a, b), Last: max(a, b), Negative: neg}, nil
}
