package imapd

import (
	"errors"
	"io"
	"strings"

	"facteur.dev/facteur/internal/imapd/fetch"
	"facteur.dev/facteur/internal/message"
)

// CATENATE (RFC 4469): APPEND builds a message from TEXT literals and
// URL parts naming messages (or their sections) of the same account,
// streamed into one blob in order, or URLAUTH-authorized URLs of any
// account (RFC 4467).

func init() {
	extensions = append(extensions, "CATENATE")
}

// catenated is what the blob writer and parser made of the parts.
type catenated struct {
	id   string
	size int64
	p    *message.Parsed
	err  error
}

// catenate reads "CATENATE (" cat-part *(SP cat-part) ")" (RFC 4469 §5)
// and stores the concatenation in a new blob, parsed as it streams.
func (s *session) catenate() (string, int64, *message.Parsed, error) {
	s.dec.Atom()
	if err := s.dec.SP(); err != nil {
		return "", 0, nil, err
	}
	if !s.dec.Consume('(') {
		return "", 0, nil, bad("Expected ( after CATENATE")
	}
	pr, pw := io.Pipe()
	done := make(chan catenated, 1)
	go func() {
		id, size, p, err := s.receive(pr)
		pr.CloseWithError(errors.Join(err, io.ErrClosedPipe)) // never leave the writer blocked
		done <- catenated{id, size, p, err}
	}()
	err := s.catParts(pw)
	pw.CloseWithError(err)
	res := <-done
	if err == nil {
		err = res.err
	}
	return res.id, res.size, res.p, err
}

// catParts copies each part into w, within APPENDLIMIT in all.
func (s *session) catParts(w io.Writer) error {
	left := s.dec.Limits().MaxLiteral
	for {
		kind, err := s.dec.Atom()
		if err != nil {
			return err
		}
		if err := s.dec.SP(); err != nil {
			return err
		}
		var n int64
		switch strings.ToUpper(kind) {
		case "TEXT":
			n, err = s.catText(w, left)
		case "URL":
			n, err = s.catURL(w, left)
		default:
			return bad("Unknown CATENATE part %s", kind)
		}
		if err != nil {
			return err
		}
		left -= n
		if s.dec.Consume(')') {
			return nil
		}
		if err := s.dec.SP(); err != nil {
			return err
		}
	}
}

// catText copies a TEXT literal, refused before its data when too large.
func (s *session) catText(w io.Writer, left int64) (int64, error) {
	info, err := s.dec.Literal()
	if err != nil {
		return 0, err
	}
	if info.Size > left {
		if err := s.dec.Reject(); err != nil {
			return 0, err
		}
		return 0, no("TOOBIG", "Message larger than APPENDLIMIT")
	}
	r, err := s.dec.Accept()
	if err != nil {
		return 0, err
	}
	return io.Copy(w, r)
}

// catURL copies the message or section a URL names (RFC 4469 §5, RFC
// 5092): one of the account's, or one a URLAUTH URL grants this session
// (RFC 4467 §7.3, see urlauth.go). Anything it cannot resolve is
// [BADURL url].
func (s *session) catURL(w io.Writer, left int64) (int64, error) {
	raw, err := s.dec.AString()
	if err != nil {
		return 0, err
	}
	badURL := no("BADURL "+respText(raw), "Cannot resolve the URL")
	u, ok := parseIMAPURL(raw)
	account := s.acct.ID
	switch {
	case !ok:
	case u.auth:
		account, ok = s.authorize(u)
	default:
		ok = u.user == "" || strings.EqualFold(u.owner(), s.acct.Address)
	}
	if !ok {
		return 0, badURL
	}
	d, err := s.openURL(account, u)
	if errors.Is(err, errBadURL) {
		return 0, badURL
	}
	if err != nil {
		return 0, err
	}
	defer d.blob.Close()
	r, n, err := fetch.Extract(d.blob, d.m.Size, parsedOf(d.m), d.sec)
	switch {
	case err != nil:
		return 0, badURL
	case n > left:
		return 0, no("TOOBIG", "Message larger than APPENDLIMIT")
	}
	return io.Copy(w, r)
}
