package pop3d

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"facteur.dev/facteur/internal/store"
)

// errInUse: another POP3 session holds the maildrop (RFC 2449 §8.1.1).
var errInUse = errors.New("pop3d: maildrop in use")

// maildrop is a session's snapshot of the INBOX: message numbers are
// positions in msgs plus one, fixed for the session (RFC 1939 §5).
type maildrop struct {
	st      Store
	locks   *Locks
	mode    DeleteMode
	account int64
	box     store.Mailbox
	msgs    []store.Message
	deleted []bool
}

// openMaildrop locks and lists an account's INBOX, leaving out messages
// hidden by an earlier POP3 deletion in DeleteHide mode.
func (s *session) openMaildrop(accountID int64) (*maildrop, error) {
	o := s.srv.opts
	box, err := o.Store.GetMailbox(s.ctx, accountID, "INBOX")
	if err != nil {
		return nil, err
	}
	if !o.Locks.TryLock(box.ID) {
		return nil, errInUse
	}
	msgs, err := o.Store.Messages(s.ctx, box.ID, false)
	if err != nil {
		o.Locks.Unlock(box.ID)
		return nil, err
	}
	msgs = slices.DeleteFunc(msgs, func(m store.Message) bool { return slices.Contains(m.Flags, HiddenKeyword) })
	return &maildrop{st: o.Store, locks: o.Locks, mode: o.Delete, account: accountID,
		box: box, msgs: msgs, deleted: make([]bool, len(msgs))}, nil
}

// close releases the lock; unapplied marks are forgotten.
func (d *maildrop) close() { d.locks.Unlock(d.box.ID) }

// get returns message number arg (RFC 1939 §5 "msg"), or an error text
// when it is not a number, out of range or marked as deleted.
func (d *maildrop) get(arg string) (int, string) {
	n, err := strconv.Atoi(arg)
	switch {
	case err != nil || n < 1:
		return 0, "Invalid message number"
	case n > len(d.msgs):
		return 0, "No such message"
	case d.deleted[n-1]:
		return 0, "Message already deleted"
	}
	return n - 1, ""
}

// stat returns the count and total size of the messages not marked.
func (d *maildrop) stat() (n int, size int64) {
	for i, m := range d.msgs {
		if !d.deleted[i] {
			n++
			size += m.Size
		}
	}
	return n, size
}

// uid is a message's unique-id listing (RFC 1939 §7): the IMAP identity
// UIDVALIDITY.UID, stable across sessions and never reused.
func (d *maildrop) uid(i int) string {
	return fmt.Sprintf("%d.%d", d.box.UIDValidity, d.msgs[i].UID)
}

// marked returns the UIDs marked as deleted.
func (d *maildrop) marked() []uint32 {
	var uids []uint32
	for i, m := range d.msgs {
		if d.deleted[i] {
			uids = append(uids, m.UID)
		}
	}
	return uids
}

// update is the UPDATE state (RFC 1939 §6): every marked message is
// removed in one store change, so an IMAP client sees one expunge (or
// move, or flag change) with one MODSEQ.
func (d *maildrop) update(ctx context.Context) error {
	uids := d.marked()
	if len(uids) == 0 {
		return nil
	}
	var err error
	switch d.mode {
	case DeleteExpunge:
		_, err = d.st.Expunge(ctx, d.box.ID, uids)
	case DeleteTrash:
		err = d.moveToTrash(ctx, uids)
	case DeleteHide:
		_, err = d.st.SetFlags(ctx, d.box.ID, uids, []string{HiddenKeyword}, +1)
	}
	return err
}

// moveToTrash moves uids to the mailbox with the \Trash special-use
// (RFC 6154), creating "Trash" if the account has none.
func (d *maildrop) moveToTrash(ctx context.Context, uids []uint32) error {
	boxes, err := d.st.ListMailboxes(ctx, d.account)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(boxes, func(b store.Mailbox) bool { return b.SpecialUse == store.SpecialTrash })
	var trash store.Mailbox
	if i >= 0 {
		trash = boxes[i]
	} else if trash, err = d.st.CreateMailbox(ctx, d.account, "Trash", store.SpecialTrash); err != nil {
		return err
	}
	_, err = d.st.CopyMessages(ctx, d.box.ID, uids, trash.ID, true)
	return err
}
