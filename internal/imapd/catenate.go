package imapd

import (
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/imapd/fetch"
	"facteur.dev/facteur/internal/message"
)

// CATENATE (RFC 4469): APPEND builds a message from TEXT literals and
// URL parts naming messages (or their sections) of the same account,
// streamed into one blob in order. URLAUTH is not offered, so a URL with
// ";URLAUTH=" is refused.

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
// 5092); anything it cannot resolve is [BADURL url].
func (s *session) catURL(w io.Writer, left int64) (int64, error) {
	raw, err := s.dec.AString()
	if err != nil {
		return 0, err
	}
	badURL := no("BADURL "+raw, "Cannot resolve the URL")
	ref, ok := parseIMAPURL(raw)
	if !ok {
		return 0, badURL
	}
	st := s.srv.opts.Store
	mb, err := st.GetMailbox(s.ctx, s.acct.ID, canonicalInbox(ref.mailbox))
	if err != nil || ref.uidValidity != 0 && ref.uidValidity != mb.UIDValidity {
		return 0, badURL
	}
	msgs, err := st.MessagesByUID(s.ctx, mb.ID, []uint32{ref.uid}, true)
	if err != nil || len(msgs) == 0 {
		return 0, badURL
	}
	sec, err := fetch.ParseSection(ref.section, ref.partial)
	if err != nil {
		return 0, badURL
	}
	blob, err := st.Blobs().Open(s.ctx, msgs[0].BlobID)
	if err != nil {
		return 0, err
	}
	defer blob.Close()
	r, n, err := fetch.Extract(blob, msgs[0].Size, parsedOf(&msgs[0]), sec)
	switch {
	case err != nil:
		return 0, badURL
	case n > left:
		return 0, no("TOOBIG", "Message larger than APPENDLIMIT")
	}
	return io.Copy(w, r)
}

// imapURL is the part of an IMAP URL (RFC 5092 §6) CATENATE resolves.
type imapURL struct {
	mailbox          string
	uidValidity, uid uint32
	section, partial string
}

// parseIMAPURL reads [imap://authority]/mailbox[;UIDVALIDITY=n]/;UID=n
// [/;SECTION=s][/;PARTIAL=o[.l]], percent-decoded. The authority is not
// checked: only this account's mailboxes can be named.
func parseIMAPURL(raw string) (imapURL, bool) {
	var u imapURL
	if rest, ok := cutPrefixFold(raw, "imap://"); ok {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return u, false
		}
		raw = rest[i:]
	}
	if !strings.HasPrefix(raw, "/") || strings.Contains(strings.ToUpper(raw), ";URLAUTH=") {
		return u, false
	}
	parts := strings.Split(raw[1:], "/;")
	if len(parts) < 2 {
		return u, false
	}
	box, validity, _ := strings.Cut(parts[0], ";")
	var err error
	if u.mailbox, err = url.PathUnescape(box); err != nil {
		return u, false
	}
	if validity != "" && !parseParam(validity, "UIDVALIDITY=", &u.uidValidity) {
		return u, false
	}
	if !parseParam(parts[1], "UID=", &u.uid) {
		return u, false
	}
	for _, p := range parts[2:] {
		if v, ok := cutPrefixFold(p, "SECTION="); ok {
			if u.section, err = url.PathUnescape(v); err != nil {
				return u, false
			}
		} else if v, ok := cutPrefixFold(p, "PARTIAL="); ok {
			u.partial = v
		} else {
			return u, false
		}
	}
	return u, u.uid != 0
}

func parseParam(s, name string, n *uint32) bool {
	v, ok := cutPrefixFold(s, name)
	if !ok {
		return false
	}
	x, err := strconv.ParseUint(v, 10, 32)
	*n = uint32(x)
	return err == nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
