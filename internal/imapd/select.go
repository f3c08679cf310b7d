package imapd

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/store"
)

// qresyncParams is SELECT's QRESYNC parameter (RFC 7162 §3.2.5).
type qresyncParams struct {
	uidValidity uint32
	modseq      uint64
	known       *imapwire.SeqSet // known-uids, nil if absent
}

// selectCmd: SELECT and EXAMINE, RFC 9051 §6.3.2, §6.3.3, with the
// CONDSTORE and QRESYNC parameters (RFC 7162 §3.1.8, §3.2.5).
func (s *session) selectCmd(c *cmd) error {
	if err := s.dec.SP(); err != nil {
		return err
	}
	name, err := s.mailboxArg()
	if err != nil {
		return err
	}
	var q *qresyncParams
	condstore := false
	if s.dec.Consume(' ') {
		err := s.dec.List(func() error {
			a, err := s.dec.Atom()
			if err != nil {
				return err
			}
			switch strings.ToUpper(a) {
			case "CONDSTORE":
				condstore = true
			case "QRESYNC":
				if err := s.dec.SP(); err != nil {
					return err
				}
				q, err = s.qresyncParam()
				return err
			default:
				return bad("Unknown SELECT parameter %s", a)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	s.resets.take()   // resets before SELECT: its own URLMECH (open) covers them
	s.saved = nil     // RFC 5182 §2.1: SELECT and EXAMINE empty the saved result
	if s.sel != nil { // RFC 9051 §6.3.2: the previous mailbox is closed first
		s.sel, s.state = nil, stateAuth
		if s.rev2 || s.qresync {
			s.untagged("OK [CLOSED] Previous mailbox is now closed")
		}
	}
	if q != nil && !s.qresync {
		return bad("ENABLE QRESYNC first") // RFC 7162 §3.2.5
	}
	if condstore {
		s.condstore = true
	}
	return s.open(c, name, q)
}

// open selects a mailbox and sends what RFC 9051 §6.3.2 requires.
func (s *session) open(c *cmd, name string, q *qresyncParams) error {
	mb, err := s.srv.opts.Store.GetMailbox(s.ctx, s.acct.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return no("NONEXISTENT", "No such mailbox")
	}
	if err != nil {
		return err
	}
	readOnly := c.name == "EXAMINE"
	v, err := s.srv.opts.Shared.views.open(s.ctx, s.srv.opts.Store, s.acct.ID, mb, readOnly)
	if errors.Is(err, errMailboxGone) {
		return no("NONEXISTENT", "No such mailbox")
	}
	if err != nil {
		return err
	}
	mb = v.mb
	s.sel, s.state = v, stateSelected
	if err := s.takeRecent(); err != nil { // recent.go
		s.sel, s.state = nil, stateAuth
		return err
	}
	v.announceAll()
	s.untagged(v.flagsLine())
	s.untagged(strconv.Itoa(len(v.uids)) + " EXISTS")
	s.reportRecent() // IMAP4rev1 only
	s.untagged(v.permanentLine())
	if !s.rev2 {
		if first := v.firstUnseen(); first > 0 {
			s.untagged("OK [UNSEEN " + strconv.Itoa(first) + "] First unseen")
		}
	}
	s.untagged("OK [UIDVALIDITY " + strconv.FormatUint(uint64(mb.UIDValidity), 10) + "] UIDs valid")
	s.untagged("OK [UIDNEXT " + strconv.FormatUint(uint64(mb.UIDNext), 10) + "] Predicted next UID")
	s.untagged("OK [HIGHESTMODSEQ " + strconv.FormatUint(mb.HighestModSeq, 10) + "] Highest") // RFC 7162 §3.1.2.1
	s.untagged("OK [MAILBOXID (" + mailboxID(mb) + ")] Ok")                                   // RFC 8474 §4.1
	s.untagged("OK [URLMECH INTERNAL] URLAUTH mechanisms")                                    // RFC 4467 §6, urlauth.go
	if s.rev2 {
		s.enc.Raw(`* LIST () "/" `).AString(s.wireName(mb.Name)).CRLF()
	}
	if q != nil && q.uidValidity == mb.UIDValidity {
		if err := s.qresyncReport(q); err != nil {
			return err
		}
	}
	code := "READ-WRITE"
	if readOnly {
		code = "READ-ONLY"
	}
	return ok(code, c.name+" completed")
}

// firstUnseen is the sequence number of the first message without \Seen,
// or 0.
func (v *view) firstUnseen() int {
	for i := range v.uids {
		if !v.has(i, `\Seen`) {
			return i + 1
		}
	}
	return 0
}

// mailboxID is the MAILBOXID (RFC 8474).
func mailboxID(mb store.Mailbox) string { return store.MailboxObjectID(mb) }

// qresyncParam reads "(" uidvalidity SP mod-sequence-value [SP
// known-uids] [SP seq-match-data] ")" (RFC 7162 §3.2.5). The
// seq-match-data is read and not used: every expunge is remembered, so
// the known UIDs are enough.
func (s *session) qresyncParam() (*qresyncParams, error) {
	q := &qresyncParams{}
	var err error
	if !s.dec.Consume('(') {
		return nil, bad("Expected ( after QRESYNC")
	}
	if q.uidValidity, err = s.dec.NZNumber(); err != nil {
		return nil, err
	}
	if err := s.dec.SP(); err != nil {
		return nil, err
	}
	if q.modseq, err = s.dec.Number64(); err != nil {
		return nil, err
	}
	for s.dec.Consume(' ') {
		if b, _ := s.dec.Peek(); b == '(' {
			err = s.dec.List(func() error { _, err := s.dec.SeqSet(); return err })
		} else {
			var set imapwire.SeqSet
			set, err = s.dec.SeqSet()
			q.known = &set
		}
		if err != nil {
			return nil, err
		}
	}
	if !s.dec.Consume(')') {
		return nil, bad("Expected ) after QRESYNC parameters")
	}
	return q, nil
}

// qresyncReport sends VANISHED (EARLIER) for the known UIDs expunged since
// the client's MODSEQ and FETCH for the messages changed since
// (RFC 7162 §3.2.5.2).
func (s *session) qresyncReport(q *qresyncParams) error {
	v := s.sel
	vanished, err := s.srv.opts.Store.Vanished(s.ctx, v.mb.ID, q.modseq)
	if err != nil {
		return err
	}
	if q.known != nil {
		last := max(v.lastUID(), v.mb.UIDNext)
		vanished = slices.DeleteFunc(vanished, func(u uint32) bool { return !q.known.Contains(u, last) })
	}
	if len(vanished) > 0 {
		s.untagged("VANISHED (EARLIER) " + imapwire.SeqSetOf(vanished).String())
	}
	for i := range v.uids {
		if v.modseq[i] > q.modseq {
			s.writeFlagsFetch(i)
		}
	}
	return nil
}

// closeCmd: CLOSE (RFC 9051 §6.4.1) expunges the \Deleted messages of a
// mailbox selected read-write, silently; UNSELECT (RFC 3691) does not.
func (s *session) closeCmd(c *cmd) error {
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	v := s.sel
	if c.name == "CLOSE" && !v.readOnly {
		if err := s.sync(); err != nil && !errors.Is(err, errMailboxGone) {
			return err
		}
	}
	s.sel, s.state, s.saved = nil, stateAuth, nil // RFC 5182 §2.1
	if c.name != "CLOSE" || v.readOnly {
		return nil
	}
	var del []uint32
	for i, uid := range v.uids {
		if v.has(i, `\Deleted`) {
			del = append(del, uid)
		}
	}
	if len(del) > 0 {
		if _, err := s.srv.opts.Store.Expunge(s.ctx, v.mb.ID, del); err != nil {
			return err
		}
	}
	return nil
}
