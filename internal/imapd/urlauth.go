package imapd

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"maps"
	"strings"
	"sync"
	"time"

	"facteur.dev/facteur/internal/store"
)

// URLAUTH (RFC 4467), URLAUTH=BINARY (RFC 5524) and URL-PARTIAL (RFC
// 5550 §5): GENURLAUTH signs an IMAP URL of the user's own mailboxes so
// that whoever the URL's access identifier names can read what it points
// to with URLFETCH (or a URL part of CATENATE), without the owner's
// credentials; RESETKEY revokes what was signed.
//
// The only mechanism is INTERNAL: the token is the hex HMAC-SHA1 of the
// rump URL (everything up to and with the access identifier, as the
// client wrote it) keyed with the mailbox access key, a random 256-bit
// secret per mailbox kept by the store (store.AccessKeys).
//
// Access identifiers (RFC 4467 §3): "anonymous" and "authuser" let any
// logged-in session fetch (Facteur has no anonymous login); "user+ID"
// only a session logged in as ID; "submit+ID" is for a submission server
// acting for ID, and Facteur's own submission server does not fetch URLs
// (no BURL), so a session logged in as ID may fetch it: the user can read
// the message anyway, and a client that hands the URL to a submission
// server speaking IMAP as that user keeps working.
//
// After RESETKEY, the other sessions of the user that have an affected
// mailbox selected send "* OK [URLMECH INTERNAL]" (RFC 4467 §7.2): the
// resetting session adds the mailbox to each one's keyResets through
// Shared, and each reports it itself before its next tagged response
// (refreshSome, view.go), or at once in IDLE or with NOTIFY, where
// waitInput (idle.go) wakes on keyResets.ready as on a store wake-up.

func init() {
	extensions = append(extensions, "URLAUTH", "URLAUTH=BINARY", "URL-PARTIAL")
	auth := stateAuth | stateSelected
	maps.Copy(commands, map[string]handler{
		"GENURLAUTH": {auth, (*session).genURLAuth, false},
		"RESETKEY":   {auth, (*session).resetKey, false},
		"URLFETCH":   {auth, (*session).urlFetch, false},
	})
}

// mechInternal is the URLAUTH mechanism, as GENURLAUTH writes it.
const mechInternal = "internal"

// genURLAuth: RFC 4467 §7.1, GENURLAUTH url-rump mechanism ...: only the
// owner of the mailbox may sign, and only URLs of messages that exist.
func (s *session) genURLAuth(c *cmd) error {
	var rumps, mechs []string
	for {
		if err := s.dec.SP(); err != nil {
			return err
		}
		rump, err := s.dec.AString()
		if err != nil {
			return err
		}
		if err := s.dec.SP(); err != nil {
			return err
		}
		mech, err := s.dec.Atom()
		if err != nil {
			return err
		}
		rumps, mechs = append(rumps, rump), append(mechs, mech)
		if b, _ := s.dec.Peek(); b != ' ' {
			break
		}
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	urls := make([]string, len(rumps))
	for i, rump := range rumps {
		if !strings.EqualFold(mechs[i], mechInternal) {
			return no("", "Unsupported URLAUTH mechanism %s", mechs[i])
		}
		token, err := s.sign(rump)
		if err != nil {
			return err
		}
		urls[i] = rump + ":" + mechInternal + ":" + token
	}
	s.enc.Raw("* GENURLAUTH")
	for _, u := range urls {
		s.enc.SP().AString(u)
	}
	s.enc.CRLF()
	return nil
}

// sign returns the token of a rump URL of the session's own mailboxes.
func (s *session) sign(rump string) (string, error) {
	badURL := func(text string) error { return no("BADURL "+respText(rump), "%s", text) }
	u, ok := parseIMAPURL(rump)
	switch {
	case !ok || !u.auth || u.mech != "" || u.user == "":
		return "", badURL("Not a URLAUTH rump URL with a user")
	case !strings.EqualFold(u.owner(), s.acct.Address):
		return "", badURL("Only the owner of a mailbox can authorize its URLs")
	case !u.expire.IsZero() && !time.Now().Before(u.expire):
		return "", badURL("The URL has already expired")
	}
	d, err := s.openURL(s.acct.ID, u)
	if errors.Is(err, errBadURL) {
		return "", badURL("No such message or section")
	}
	if err != nil {
		return "", err
	}
	d.blob.Close()
	key, err := s.srv.opts.Store.MailboxAccessKey(s.ctx, d.mailbox, false)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(urlMAC(key, u.rump)), nil
}

func urlMAC(key []byte, rump string) []byte {
	h := hmac.New(sha1.New, key)
	h.Write([]byte(rump))
	return h.Sum(nil)
}

// authorize checks a URLAUTH URL for this session (RFC 4467 §7.3): the
// mechanism, the expiry, the access identifier, then the token against
// the owner's mailbox key, in constant time. It returns the owner's
// account. When the owner or the mailbox does not exist, a token is
// still computed, with a random key, so that the time taken does not
// tell which mailboxes exist (RFC 4467 §7.3).
func (s *session) authorize(u imapURL) (int64, bool) {
	if !u.auth || !strings.EqualFold(u.mech, mechInternal) || u.user == "" || !s.mayFetch(u.access) ||
		!u.expire.IsZero() && !time.Now().Before(u.expire) {
		return 0, false
	}
	st := s.srv.opts.Store
	key := make([]byte, 32)
	rand.Read(key)
	owner, err := st.LookupAccount(s.ctx, strings.ToLower(u.owner()))
	found := err == nil && !owner.Disabled
	if found {
		var mb store.Mailbox
		mb, err = st.GetMailbox(s.ctx, owner.ID, canonicalInbox(u.mailbox))
		if found = err == nil; found {
			if k, err := st.MailboxAccessKey(s.ctx, mb.ID, false); err == nil {
				key = k
			} else {
				found = false
			}
		}
	}
	token, err := hex.DecodeString(u.token)
	valid := hmac.Equal(urlMAC(key, u.rump), token)
	return owner.ID, found && err == nil && valid
}

// mayFetch tells whether this session is one the access identifier
// names (RFC 4467 §3; submit+ as the file comment says).
func (s *session) mayFetch(access string) bool {
	switch access {
	case "anonymous", "authuser":
		return true
	}
	_, id, _ := strings.Cut(access, "+")
	return strings.EqualFold(id, s.acct.Address)
}

// resetKey: RFC 4467 §7.2, RESETKEY [mailbox *(SP mechanism)]. Without a
// mailbox every key of the user is reset.
func (s *session) resetKey(c *cmd) error {
	var name string
	var mechs []string
	if s.dec.Consume(' ') {
		var err error
		if name, err = s.mailboxArg(); err != nil {
			return err
		}
		for s.dec.Consume(' ') {
			m, err := s.dec.Atom()
			if err != nil {
				return err
			}
			mechs = append(mechs, m)
		}
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	for _, m := range mechs {
		if !strings.EqualFold(m, mechInternal) {
			return no("", "Unsupported URLAUTH mechanism %s", m)
		}
	}
	st := s.srv.opts.Store
	if name == "" {
		if err := st.ResetAccessKeys(s.ctx, s.acct.ID); err != nil {
			return err
		}
		s.srv.opts.Shared.resetKeys(s.acct.ID, s.resets, 0)
		return ok("", "All keys reset")
	}
	mb, err := st.GetMailbox(s.ctx, s.acct.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return no("NONEXISTENT", "No such mailbox")
	}
	if err != nil {
		return err
	}
	if _, err := st.MailboxAccessKey(s.ctx, mb.ID, true); err != nil {
		return err
	}
	s.srv.opts.Shared.resetKeys(s.acct.ID, s.resets, mb.ID)
	return ok("URLMECH INTERNAL", "Key reset")
}

// keyResets are the mailboxes whose key other sessions of the account
// reset and this session has yet to report: their IDs, 0 for every
// mailbox. ready holds a token while ids is not empty.
type keyResets struct {
	mu    sync.Mutex
	ids   map[int64]bool
	ready chan struct{}
}

func newKeyResets() *keyResets { return &keyResets{ready: make(chan struct{}, 1)} }

func (r *keyResets) add(mailbox int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[int64]bool{}
	}
	r.ids[mailbox] = true
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// take empties r and returns what it held.
func (r *keyResets) take() map[int64]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.ids
	r.ids = nil
	select {
	case <-r.ready:
	default:
	}
	return ids
}

// reportKeyResets sends RFC 4467 §7.2's untagged URLMECH when another
// session reset the key of the selected mailbox.
func (s *session) reportKeyResets() {
	ids := s.resets.take()
	if s.sel != nil && (ids[0] || ids[s.sel.mb.ID]) {
		s.untagged("OK [URLMECH INTERNAL] Mailbox access key reset")
	}
}

// respText makes s fit in BADURL's text (RFC 4469 §6 url-resp-text:
// 7-bit, no "]", no CR or LF; control characters are dropped too).
func respText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ']' || r < ' ' || r >= 0x7f {
			return -1
		}
		return r
	}, s)
}
