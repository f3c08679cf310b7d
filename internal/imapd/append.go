package imapd

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// appendCmd: APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502),
// APPENDUID (RFC 4315 §3), APPENDLIMIT (RFC 7889) and literal8 (RFC 3516
// §4.4). Each literal streams into a new blob while message.Parse reads
// it; the messages are stored with one Deliver once the command is read.
// A literal over the limit, or for a mailbox that does not exist, is
// refused before its data is read: a synchronizing one is never
// invited, so nothing is sent (RFC 9051 §7.5, RFC 7889 §3).
func (s *session) appendCmd(c *cmd) error {
	if err := s.dec.SP(); err != nil {
		return err
	}
	name, err := s.mailboxArg()
	if err != nil {
		return err
	}
	mb, mbErr := s.srv.opts.Store.GetMailbox(s.ctx, s.acct.ID, name)
	if mbErr != nil && !errors.Is(mbErr, store.ErrNotFound) {
		return mbErr
	}
	var msgs []store.NewMessage
	for {
		if err := s.dec.SP(); err != nil {
			return err
		}
		m, err := s.appendOne(mbErr)
		if err != nil {
			return err
		}
		m.AccountID, m.Mailbox = s.acct.ID, mb.Name
		msgs = append(msgs, m)
		if s.dec.AtEnd() {
			break
		}
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	return s.deliverAppended(mb, msgs)
}

// appendOne reads [flag-list SP] [date-time SP] literal and stores the
// literal in a blob.
func (s *session) appendOne(mbErr error) (store.NewMessage, error) {
	var m store.NewMessage
	var err error
	if b, _ := s.dec.Peek(); b == '(' {
		var flags []string
		err = s.dec.List(func() error {
			f, err := s.dec.Flag()
			flags = append(flags, f)
			return err
		})
		if err == nil {
			m.Flags, err = canonicalFlags(flags)
		}
		if err == nil {
			err = s.dec.SP()
		}
		if err != nil {
			return m, err
		}
	}
	if b, _ := s.dec.Peek(); b == '"' {
		if m.InternalDate, err = s.dec.DateTime(); err != nil {
			return m, err
		}
		if err := s.dec.SP(); err != nil {
			return m, err
		}
	}
	if m.InternalDate.IsZero() {
		m.InternalDate = time.Now()
	}
	if strings.EqualFold(s.dec.PeekAtom(), "CATENATE") { // RFC 4469
		if mbErr != nil {
			return m, no("TRYCREATE", "No such mailbox")
		}
		m.BlobID, m.Size, m.Parsed, err = s.catenate()
		return m, err
	}
	// RFC 6855 §4: with UTF8=ACCEPT, "UTF8 (" literal8 ")".
	utf8 := strings.EqualFold(s.dec.PeekAtom(), "UTF8")
	if utf8 {
		s.dec.Atom()
		if err := s.dec.SP(); err != nil {
			return m, err
		}
		if !s.dec.Consume('(') {
			return m, bad("Expected ( after UTF8")
		}
	}
	info, err := s.dec.Literal()
	if err != nil {
		return m, err
	}
	switch {
	case mbErr != nil:
		if err := s.dec.Reject(); err != nil {
			return m, err
		}
		return m, no("TRYCREATE", "No such mailbox")
	case info.Size > s.dec.Limits().MaxLiteral:
		if err := s.dec.Reject(); err != nil {
			return m, err
		}
		return m, no("TOOBIG", "Message larger than APPENDLIMIT")
	}
	r, err := s.dec.Accept()
	if err != nil {
		return m, err
	}
	if info.Binary {
		if r, err = binaryAppend(r); err != nil {
			return m, err
		}
	}
	m.BlobID, m.Size, m.Parsed, err = s.receive(r)
	if err == nil && utf8 && !s.dec.Consume(')') {
		err = bad("Expected ) after the UTF8 literal")
	}
	return m, err
}

// binaryAppend reads a literal8 message (RFC 3516 §4.4) and re-encodes
// the parts that hold NUL bytes as base64 (message.EncodeNULParts), as
// Dovecot does, so that the message can be fetched with BODY[] too. The
// literal is bounded by APPENDLIMIT.
func binaryAppend(r io.Reader) (io.Reader, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(raw, 0) < 0 {
		return bytes.NewReader(raw), nil
	}
	p, err := message.Parse(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	out, _ := message.EncodeNULParts(raw, p)
	return bytes.NewReader(out), nil
}

// receive streams r into a new blob, parsing it in the same pass.
func (s *session) receive(r io.Reader) (string, int64, *message.Parsed, error) {
	w, err := s.srv.opts.Store.Blobs().Create(s.ctx)
	if err != nil {
		return "", 0, nil, err
	}
	p, err := message.Parse(io.TeeReader(r, w))
	if err != nil {
		w.Abort()
		return "", 0, nil, err
	}
	id, size, err := w.Commit()
	return id, size, p, err
}

// deliverAppended stores the messages and answers with APPENDUID.
func (s *session) deliverAppended(mb store.Mailbox, msgs []store.NewMessage) error {
	out, errs := s.srv.opts.Store.Deliver(s.ctx, msgs)
	var uids []uint32
	var first error
	for i, err := range errs {
		if err == nil {
			uids = append(uids, out[i].UID)
		} else if first == nil {
			first = err
		}
	}
	if first != nil && len(uids) > 0 {
		// RFC 3502 §6.3.11: a MULTIAPPEND that fails appends nothing.
		// Deliver stores each message on its own, so take back those
		// that were stored (other sessions may see them come and go).
		if _, err := s.srv.opts.Store.Expunge(s.ctx, out[0].MailboxID, uids); err != nil {
			return err
		}
	}
	if s.sel != nil && s.sel.mb.ID == mb.ID && len(uids) > 0 {
		s.sel.dirty = true
		s.ownAppended(uids) // no NOTIFY MessageNew FETCH for them (notify.go)
	}
	switch {
	case errors.Is(first, mail.ErrQuotaFull):
		return no("OVERQUOTA", "Quota exceeded") // RFC 9208 §4.3
	case errors.Is(first, store.ErrNotFound):
		return no("TRYCREATE", "No such mailbox")
	case first != nil:
		return first
	}
	return ok("APPENDUID "+itoa(mb.UIDValidity)+" "+imapwire.SeqSetOf(uids).String(), "APPEND completed")
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
