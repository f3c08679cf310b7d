package imapd

import (
	"strconv"
	"strings"
)

// extensions are the capabilities offered in every state: each is
// implemented completely (RFC 9051 §7.2.2). LITERAL+ (RFC 7888) includes
// what LITERAL- promises, so only LITERAL+ is listed.
var extensions = []string{
	"IMAP4rev1", "IMAP4rev2", "LITERAL+", "ID", "ENABLE", "IDLE", "NAMESPACE", "UNSELECT",
	"UIDPLUS", "MOVE", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE", "LIST-EXTENDED",
	"LIST-STATUS", "STATUS=SIZE", "CONDSTORE", "QRESYNC", "BINARY", "MULTIAPPEND",
	"UTF8=ACCEPT", "PREVIEW", "OBJECTID", "SAVEDATE", "NOTIFY",
}

// mechanisms are the SASL mechanisms offered (RFC 9051 §6.2.2).
var mechanisms = []string{"PLAIN", "SCRAM-SHA-256"}

// capabilities lists what works in this state on this connection.
func (s *session) capabilities() string {
	caps := append([]string{}, extensions...)
	caps = append(caps, "APPENDLIMIT="+strconv.FormatInt(s.dec.Limits().MaxLiteral, 10))
	if s.state != stateNotAuth && !s.compressed {
		caps = append(caps, "COMPRESS=DEFLATE") // RFC 4978, after login: see compress.go
	}
	if s.state == stateNotAuth {
		if s.starttlsOffered() {
			caps = append(caps, "STARTTLS")
		}
		if s.loginAllowed() {
			caps = append(caps, "SASL-IR")
			for _, m := range mechanisms {
				caps = append(caps, "AUTH="+m)
			}
		} else {
			caps = append(caps, "LOGINDISABLED") // RFC 9051 §6.2.3
		}
	}
	return strings.Join(caps, " ")
}

// capability: RFC 9051 §6.1.1.
func (s *session) capability(c *cmd) error {
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	s.untagged("CAPABILITY " + s.capabilities())
	return nil
}

// noop: RFC 9051 §6.1.2; also CHECK (RFC 3501 §6.4.1), which has nothing
// to do: every change is durable when its command completes. The pending
// updates are sent by finish.
func (s *session) noop(c *cmd) error {
	return s.dec.CRLF()
}

// logout: RFC 9051 §6.1.3.
func (s *session) logout(c *cmd) error {
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	s.untagged("BYE Logging out")
	s.loggedOut = true
	s.sel = nil
	return nil
}

// id: RFC 2971. The client's fields are read and not kept.
func (s *session) id(c *cmd) error {
	if err := s.dec.SP(); err != nil {
		return err
	}
	if b, err := s.dec.Peek(); err == nil && b == '(' {
		err = s.dec.List(func() error { _, _, err := s.dec.NString(); return err })
		if err != nil {
			return err
		}
	} else if _, _, err := s.dec.NString(); err != nil {
		return err
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	s.untagged(`ID ("name" "Facteur" "vendor" "Facteur")`)
	return nil
}

// enable: RFC 5161, RFC 9051 §6.3.1. Unknown capabilities are ignored;
// the response lists those newly enabled.
func (s *session) enable(c *cmd) error {
	var names []string
	for {
		if err := s.dec.SP(); err != nil {
			return err
		}
		a, err := s.dec.Atom()
		if err != nil {
			return err
		}
		names = append(names, a)
		if s.dec.AtEnd() {
			break
		}
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	var enabled []string
	for _, n := range names {
		if flag := s.extensionFlag(strings.ToUpper(n)); flag != nil && !*flag {
			*flag = true
			enabled = append(enabled, strings.ToUpper(n))
		}
	}
	if s.qresync {
		s.condstore = true // RFC 7162 §3.2.3
	}
	s.enc.UTF8 = s.utf8Mode()
	s.untagged(strings.TrimSpace("ENABLED " + strings.Join(enabled, " ")))
	return nil
}

// enableCondstore is what a CONDSTORE enabling command does (RFC 7162
// §3.1): FETCH with MODSEQ or CHANGEDSINCE, SEARCH with MODSEQ, STORE
// with UNCHANGEDSINCE, STATUS (HIGHESTMODSEQ), and the MODSEQ fetch
// attribute of NOTIFY's MessageNew (RFC 5465 §5.2) or of SEARCH RETURN
// (UPDATE) (§7). The first one issued with a mailbox selected sends that
// mailbox's HIGHESTMODSEQ before its own responses (RFC 7162 §3.1, as
// Dovecot does), since the client starts counting MODSEQs only now.
// ENABLE and SELECT (CONDSTORE) need not: the first is refused with a
// mailbox selected, the second sends HIGHESTMODSEQ itself.
func (s *session) enableCondstore() {
	if s.condstore {
		return
	}
	s.condstore = true
	if s.sel != nil {
		s.untagged("OK [HIGHESTMODSEQ " + strconv.FormatUint(s.sel.mb.HighestModSeq, 10) + "] Highest")
	}
}

func (s *session) extensionFlag(name string) *bool {
	switch name {
	case "IMAP4REV2":
		return &s.rev2
	case "CONDSTORE":
		return &s.condstore
	case "QRESYNC":
		return &s.qresync
	case "UTF8=ACCEPT":
		return &s.utf8
	}
	return nil
}

// namespace: RFC 2342, RFC 9051 §6.3.10: one personal namespace, no
// shared ones.
func (s *session) namespace(c *cmd) error {
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	s.untagged(`NAMESPACE (("" "/")) NIL NIL`)
	return nil
}
