package imapd

import (
	"errors"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

// copyCmd: COPY (RFC 9051 §6.4.7), MOVE (RFC 6851) and their UID forms,
// with COPYUID (RFC 4315 §3). A MOVE reports COPYUID in an untagged OK
// before the expunges (RFC 6851 §4.3).
func (s *session) copyCmd(c *cmd) error {
	var set imapwire.SeqSet
	var name string
	if err := s.args(s.seqSet(&set), s.mailbox(&name)); err != nil {
		return err
	}
	move := strings.HasSuffix(c.name, "MOVE")
	if err := s.refresh(true); err != nil {
		return err
	}
	v := s.sel
	if move && v.readOnly {
		return no("READ-ONLY", "Mailbox is read-only")
	}
	dst, err := s.srv.opts.Store.GetMailbox(s.ctx, s.acct.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return no("TRYCREATE", "No such mailbox") // RFC 9051 §6.4.7
	}
	if err != nil {
		return err
	}
	idx, err := s.resolve(set, c.uid)
	if err != nil {
		return err
	}
	var uids []uint32
	for _, i := range idx {
		if !v.gone[v.uids[i]] {
			uids = append(uids, v.uids[i])
		}
	}
	pairs, err := s.srv.opts.Store.CopyMessages(s.ctx, v.mb.ID, uids, dst.ID, move)
	if errors.Is(err, mail.ErrQuotaFull) {
		return no("OVERQUOTA", "Quota exceeded") // RFC 9208 §4.3
	}
	if err != nil {
		return err
	}
	v.dirty = v.dirty || move || dst.ID == v.mb.ID
	code := copyUID(dst.UIDValidity, pairs)
	if move {
		if code != "" {
			s.untagged("OK [" + code + "] Moved")
		}
		return nil
	}
	return ok(code, c.name+" completed")
}

// copyUID renders "COPYUID uidvalidity src-uids dst-uids"; the pairs are
// in ascending order on both sides, so the compressed sets correspond.
func copyUID(uidValidity uint32, pairs []store.UIDPair) string {
	if len(pairs) == 0 {
		return ""
	}
	src := make([]uint32, len(pairs))
	dst := make([]uint32, len(pairs))
	for i, p := range pairs {
		src[i], dst[i] = p.Src, p.Dst
	}
	return "COPYUID " + strconv.FormatUint(uint64(uidValidity), 10) + " " +
		imapwire.SeqSetOf(src).String() + " " + imapwire.SeqSetOf(dst).String()
}

// expunge: EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1).
// The EXPUNGE (or VANISHED) responses are sent by finish, from the view.
func (s *session) expunge(c *cmd) error {
	var set *imapwire.SeqSet
	var read []func() error
	if c.uid {
		set = &imapwire.SeqSet{}
		read = append(read, s.seqSet(set))
	}
	if err := s.args(read...); err != nil {
		return err
	}
	if err := s.refresh(true); err != nil {
		return err
	}
	v := s.sel
	if v.readOnly {
		return no("READ-ONLY", "Mailbox is read-only")
	}
	var del []uint32
	last := v.lastUID()
	for i, uid := range v.uids {
		if v.has(i, `\Deleted`) && !v.gone[uid] && (set == nil || set.Contains(uid, last)) {
			del = append(del, uid)
		}
	}
	if len(del) == 0 {
		return nil
	}
	if _, err := s.srv.opts.Store.Expunge(s.ctx, v.mb.ID, del); err != nil {
		return err
	}
	v.dirty = true
	return nil
}
