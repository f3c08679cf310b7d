package imapd

import (
	"slices"
	"strconv"

	"facteur.dev/facteur/internal/store"
)

// QUOTA (RFC 9208) with the STORAGE resource: each account has one quota
// root, "", holding all its mailboxes, with the limit the administrator
// set (none when it is 0). Clients cannot change it.

func init() {
	commands["GETQUOTAROOT"] = handler{stateAuth | stateSelected, (*session).getQuotaRoot, false}
	commands["GETQUOTA"] = handler{stateAuth | stateSelected, (*session).getQuota, false}
	commands["SETQUOTA"] = handler{stateAuth | stateSelected, (*session).setQuota, false}
	extensions = append(extensions, "QUOTA", "QUOTA=RES-STORAGE")
}

// account reads the logged-in account again: usage changes all the time.
func (s *session) account() (store.Account, error) {
	return s.srv.opts.Store.LookupAccount(s.ctx, s.acct.Address)
}

// getQuotaRoot: RFC 9208 §4.3.2.
func (s *session) getQuotaRoot(c *cmd) error {
	var name string
	if err := s.args(s.mailbox(&name)); err != nil {
		return err
	}
	if _, err := s.srv.opts.Store.GetMailbox(s.ctx, s.acct.ID, name); err != nil {
		return no("NONEXISTENT", "No such mailbox")
	}
	a, err := s.account()
	if err != nil {
		return err
	}
	s.enc.Raw("* QUOTAROOT ").AString(s.wireName(name))
	if a.QuotaBytes > 0 {
		s.enc.Raw(` ""`)
	}
	s.enc.CRLF()
	if a.QuotaBytes > 0 {
		s.writeQuota(a)
	}
	return nil
}

// getQuota: RFC 9208 §4.3.1; "" is the only root, when there is a limit.
func (s *session) getQuota(c *cmd) error {
	var root string
	err := s.args(func() (err error) {
		root, err = s.dec.AString()
		return err
	})
	if err != nil {
		return err
	}
	a, err := s.account()
	if err != nil {
		return err
	}
	if root != "" || a.QuotaBytes <= 0 {
		return no("NONEXISTENT", "No such quota root")
	}
	s.writeQuota(a)
	return nil
}

// writeQuota sends "* QUOTA "" (STORAGE used limit)" in units of 1024
// octets (RFC 9208 §5.1).
func (s *session) writeQuota(a store.Account) {
	s.untagged(`QUOTA "" (STORAGE ` + strconv.FormatInt((a.UsedBytes+1023)/1024, 10) + " " +
		strconv.FormatInt(a.QuotaBytes/1024, 10) + ")")
}

// setQuota: RFC 9208 §4.3.3. Limits are the administrator's.
func (s *session) setQuota(c *cmd) error {
	if err := s.dec.DiscardLine(); err != nil {
		return err
	}
	return no("NOPERM", "Quotas are set by the administrator")
}

// deletedStorage is STATUS DELETED-STORAGE (RFC 9208 §4.2): the KiB an
// EXPUNGE would free.
func (s *session) deletedStorage(mb store.Mailbox) (int64, error) {
	msgs, err := s.srv.opts.Store.Messages(s.ctx, mb.ID, false)
	var n int64
	for _, m := range msgs {
		if slices.Contains(m.Flags, `\Deleted`) {
			n += m.Size
		}
	}
	return (n + 1023) / 1024, err
}
