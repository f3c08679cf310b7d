package imapd

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"facteur.dev/facteur/internal/store"
)

// maxNameLen bounds mailbox names, in bytes.
const maxNameLen = 512

// checkName refuses names a client could not list or select: empty
// levels, wildcards, control characters. The command's syntax is fine, so
// these are NO, not BAD.
func checkName(name string) error {
	if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
		return no("CANNOT", "Invalid mailbox name")
	}
	for _, level := range strings.Split(name, "/") {
		if level == "" {
			return no("CANNOT", "Empty level in mailbox name")
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '*' || r == '%' {
			return no("CANNOT", "Mailbox names cannot contain %q", r)
		}
	}
	return nil
}

// create: RFC 9051 §6.3.4 with CREATE-SPECIAL-USE (RFC 6154 §3). The
// superior levels of the name are created as needed.
func (s *session) create(c *cmd) error {
	if err := s.dec.SP(); err != nil {
		return err
	}
	name, err := s.mailboxArg()
	if err != nil {
		return err
	}
	var use []string
	if s.dec.Consume(' ') {
		if use, err = s.createParams(); err != nil {
			return err
		}
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	name = strings.TrimSuffix(name, "/") // RFC 9051 §6.3.4: a trailing separator
	if err := checkName(name); err != nil {
		return err
	}
	special, err := specialUse(use)
	if err != nil {
		return err
	}
	if err := s.createParents(name); err != nil {
		return err
	}
	_, err = s.srv.opts.Store.CreateMailbox(s.ctx, s.acct.ID, name, special)
	if errors.Is(err, store.ErrExists) || name == "INBOX" {
		return no("ALREADYEXISTS", "Mailbox already exists")
	}
	s.ownChange(c.name, name, "", err) // not reported back by NOTIFY (notify.go)
	return err
}

// createParams reads "(" "USE" SP "(" use-attr ... ")" ")".
func (s *session) createParams() ([]string, error) {
	var use []string
	err := s.dec.List(func() error {
		kw, err := s.dec.Atom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(kw, "USE") {
			return bad("Unknown CREATE parameter %s", kw)
		}
		if err := s.dec.SP(); err != nil {
			return err
		}
		return s.dec.List(func() error {
			f, err := s.dec.Flag()
			use = append(use, f)
			return err
		})
	})
	return use, err
}

// specialUse maps CREATE's USE attributes to the one special use a
// mailbox may have here.
func specialUse(use []string) (string, error) {
	if len(use) == 0 {
		return "", nil
	}
	known := []string{store.SpecialDrafts, store.SpecialSent, store.SpecialJunk, store.SpecialTrash, store.SpecialArchive}
	k := slices.IndexFunc(known, func(u string) bool { return strings.EqualFold(u, use[0]) })
	if len(use) > 1 || k < 0 {
		return "", no("USEATTR", "Supported: one of %s", strings.Join(known, " ")) // RFC 6154 §3
	}
	return known[k], nil
}

// createParents creates the missing superior levels of name.
func (s *session) createParents(name string) error {
	for i := strings.IndexByte(name, '/'); i >= 0; i = nextSep(name, i) {
		_, err := s.srv.opts.Store.CreateMailbox(s.ctx, s.acct.ID, name[:i], "")
		if err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
	}
	return nil
}

func nextSep(name string, i int) int {
	j := strings.IndexByte(name[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// deleteCmd: RFC 3501 §6.3.4, RFC 9051 §6.3.5. A mailbox with inferiors
// is deleted with its messages and its name stays, \Noselect, while they
// last (hierarchy.go): the RFC's alternative to refusing, as Dovecot
// does. A \Noselect name with inferiors cannot be deleted (RFC 3501
// §6.3.4), nor INBOX, nor the mailbox this session has selected.
func (s *session) deleteCmd(c *cmd) error {
	var name string
	if err := s.args(s.mailbox(&name)); err != nil {
		return err
	}
	if name == "INBOX" {
		return no("CANNOT", "INBOX cannot be deleted")
	}
	if s.sel != nil && s.sel.mb.Name == name {
		return no("INUSE", "Close the mailbox before deleting it")
	}
	err := s.srv.opts.Store.DeleteMailbox(s.ctx, s.acct.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return s.deleteMissing(name)
	}
	s.ownChange(c.name, name, "", err)
	return err
}

// deleteMissing is DELETE's answer for a name that is not a mailbox.
func (s *session) deleteMissing(name string) error {
	noselect, err := s.isNoselect(name)
	if err != nil {
		return err
	}
	if noselect {
		return no("HASCHILDREN", "Name is \\Noselect and has inferior hierarchical names") // RFC 3501 §6.3.4
	}
	return no("NONEXISTENT", "No such mailbox")
}

// rename: RFC 9051 §6.3.6. Inferiors are renamed too; RENAME INBOX moves
// INBOX's messages to a new mailbox and leaves INBOX empty.
func (s *session) rename(c *cmd) error {
	var from, to string
	if err := s.args(s.mailbox(&from), s.mailbox(&to)); err != nil {
		return err
	}
	to = strings.TrimSuffix(to, "/")
	if err := checkName(to); err != nil {
		return err
	}
	st := s.srv.opts.Store
	src, err := s.renameSource(from)
	if err != nil {
		return err
	}
	if _, err := st.GetMailbox(s.ctx, s.acct.ID, to); err == nil || to == "INBOX" {
		return no("ALREADYEXISTS", "Mailbox already exists")
	}
	if strings.HasPrefix(to, from+"/") {
		return no("CANNOT", "Cannot rename a mailbox under itself")
	}
	if err := s.createParents(to); err != nil {
		return err
	}
	if from == "INBOX" {
		return s.renameInbox(src, to)
	}
	err = st.RenameMailbox(s.ctx, s.acct.ID, from, to)
	if errors.Is(err, store.ErrExists) {
		return no("ALREADYEXISTS", "Mailbox already exists")
	}
	if err == nil && s.sel != nil && s.sel.mb.ID == src.ID {
		s.sel.mb.Name = to
	}
	s.ownChange(c.name, from, to, err)
	return err
}

// renameSource is the mailbox RENAME renames: the zero Mailbox for a
// \Noselect level, whose inferiors are renamed (RFC 3501 §6.3.5).
func (s *session) renameSource(from string) (store.Mailbox, error) {
	src, err := s.srv.opts.Store.GetMailbox(s.ctx, s.acct.ID, from)
	if !errors.Is(err, store.ErrNotFound) {
		return src, err
	}
	if noselect, err := s.isNoselect(from); err != nil || noselect {
		return store.Mailbox{}, err
	}
	return src, no("NONEXISTENT", "No such mailbox")
}

// isNoselect reports whether name is a \Noselect level (hierarchy.go).
func (s *session) isNoselect(name string) (bool, error) {
	mbs, err := s.srv.opts.Store.ListMailboxes(s.ctx, s.acct.ID)
	return err == nil && newHierarchy(mbs).noselect(name), err
}

// renameInbox moves every message of INBOX to a new mailbox (RFC 9051
// §6.3.6); a move is quota-neutral.
func (s *session) renameInbox(inbox store.Mailbox, to string) error {
	st := s.srv.opts.Store
	dst, err := st.CreateMailbox(s.ctx, s.acct.ID, to, "")
	if err != nil {
		return err
	}
	_, states, err := st.MessageStates(s.ctx, inbox.ID)
	if err != nil || len(states) == 0 {
		return err
	}
	uids := make([]uint32, len(states))
	for i, m := range states {
		uids[i] = m.UID
	}
	_, err = st.CopyMessages(s.ctx, inbox.ID, uids, dst.ID, true)
	return err
}

// subscribe: SUBSCRIBE and UNSUBSCRIBE, RFC 9051 §6.3.7, §6.3.8.
func (s *session) subscribe(c *cmd) error {
	var name string
	if err := s.args(s.mailbox(&name)); err != nil {
		return err
	}
	err := s.srv.opts.Store.SetSubscribed(s.ctx, s.acct.ID, name, c.name == "SUBSCRIBE")
	if errors.Is(err, store.ErrNotFound) {
		return no("NONEXISTENT", "No such mailbox")
	}
	s.ownChange(c.name, name, "", err)
	return err
}

// statusNames are the STATUS items (RFC 9051 §6.3.11, RFC 3501 RECENT,
// RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ, RFC 7889 APPENDLIMIT, RFC 8474
// MAILBOXID, RFC 9208 DELETED-STORAGE).
var statusNames = []string{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE",
	"RECENT", "HIGHESTMODSEQ", "APPENDLIMIT", "MAILBOXID", "DELETED-STORAGE"}

// status: RFC 9051 §6.3.11.
func (s *session) status(c *cmd) error {
	var name string
	var items []string
	err := s.args(s.mailbox(&name), func() (err error) {
		items, err = s.statusItems()
		return err
	})
	if err != nil {
		return err
	}
	mb, err := s.srv.opts.Store.GetMailbox(s.ctx, s.acct.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return no("NONEXISTENT", "No such mailbox")
	}
	if err != nil {
		return err
	}
	if slices.Contains(items, "HIGHESTMODSEQ") {
		s.enableCondstore() // RFC 7162 §3.1
	}
	return s.writeStatus(mb, items)
}

// statusItems reads "(" item *(SP item) ")".
func (s *session) statusItems() ([]string, error) {
	var items []string
	err := s.dec.List(func() error {
		a, err := s.dec.Atom()
		if err != nil {
			return err
		}
		a = strings.ToUpper(a)
		if !slices.Contains(statusNames, a) {
			return bad("Unknown STATUS item %s", a)
		}
		items = append(items, a)
		return nil
	})
	if err == nil && len(items) == 0 {
		err = bad("STATUS needs at least one item")
	}
	return items, err
}

func (s *session) writeStatus(mb store.Mailbox, items []string) error {
	b := make([]byte, 0, 128)
	for i, it := range items {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, it...)
		b = append(b, ' ')
		switch it {
		case "MESSAGES":
			b = strconv.AppendInt(b, mb.Messages, 10)
		case "UIDNEXT":
			b = strconv.AppendUint(b, uint64(mb.UIDNext), 10)
		case "UIDVALIDITY":
			b = strconv.AppendUint(b, uint64(mb.UIDValidity), 10)
		case "UNSEEN":
			b = strconv.AppendInt(b, mb.Unseen, 10)
		case "SIZE":
			b = strconv.AppendInt(b, mb.Size, 10)
		case "RECENT": // RFC 3501 §6.3.10; recent.go
			b = strconv.AppendInt(b, s.statusRecent(mb), 10)
		case "HIGHESTMODSEQ":
			b = strconv.AppendUint(b, mb.HighestModSeq, 10)
		case "APPENDLIMIT":
			b = strconv.AppendInt(b, s.dec.Limits().MaxLiteral, 10)
		case "MAILBOXID":
			b = append(b, '(')
			b = append(b, mailboxID(mb)...)
			b = append(b, ')')
		case "DELETED-STORAGE":
			n, err := s.deletedStorage(mb)
			if err != nil {
				return err
			}
			b = strconv.AppendInt(b, n, 10)
		case "DELETED":
			n, err := s.countDeleted(mb)
			if err != nil {
				return err
			}
			b = strconv.AppendInt(b, int64(n), 10)
		}
	}
	s.enc.Raw("* STATUS ").AString(s.wireName(mb.Name)).Raw(" (").Bytes(b).Raw(")\r\n")
	return nil
}

// statusRecent is STATUS RECENT: the messages no session has claimed,
// but for the session's own selected mailbox, those recent in it (what
// SEARCH RECENT finds there).
func (s *session) statusRecent(mb store.Mailbox) int64 {
	if v := s.sel; v != nil && v.mb.ID == mb.ID {
		if s.rev2 {
			return 0
		}
		return int64(v.recentCount())
	}
	return mb.Recent
}

func (s *session) countDeleted(mb store.Mailbox) (int, error) {
	_, states, err := s.srv.opts.Store.MessageStates(s.ctx, mb.ID)
	n := 0
	for _, m := range states {
		if slices.Contains(m.Flags, `\Deleted`) {
			n++
		}
	}
	return n, err
}
