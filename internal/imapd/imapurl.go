package imapd

import (
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"facteur.dev/facteur/internal/imapd/fetch"
	"facteur.dev/facteur/internal/store"
)

// IMAP URLs (RFC 5092) naming a message or a part of one, as CATENATE
// (RFC 4469) and URLAUTH (RFC 4467) use them.

// imapURL is an IMAP URL: the message part (RFC 5092 §6 imessagepart),
// the user of its authority, and the URLAUTH parts (RFC 4467 §9) when it
// has ";URLAUTH=".
type imapURL struct {
	user             string // from the authority, decoded; "" for a relative URL
	host             string // the authority's host, without port
	mailbox          string
	uidValidity, uid uint32
	section, partial string

	auth   bool      // the URL has ";URLAUTH="
	expire time.Time // ";EXPIRE=", zero without
	// access is the access identifier: "anonymous", "authuser", or
	// "submit+" or "user+" and a decoded user ID; the keyword is in lower
	// case.
	access string
	rump   string // the URL up to and with the access identifier: what the token signs
	mech   string // "" in a rump URL (GENURLAUTH's argument)
	token  string // hex
}

// parseIMAPURL reads [imap://[user[;AUTH=…]@]host[:port]]/mailbox
// [;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]
// [[;EXPIRE=t];URLAUTH=access[:mech:token]], percent-decoded. The host
// is not checked: a server reached under several names cannot tell its
// own, and a URLAUTH token signs the URL as written.
func parseIMAPURL(raw string) (imapURL, bool) {
	var u imapURL
	rest := raw
	if i := lastIndexFold(raw, ";URLAUTH="); i >= 0 {
		if !u.parseAuth(raw, i) {
			return u, false
		}
		rest = raw[:i]
		if j := lastIndexFold(rest, ";EXPIRE="); j >= 0 {
			t, err := time.Parse(time.RFC3339, strings.ToUpper(rest[j+len(";EXPIRE="):]))
			if err != nil {
				return u, false
			}
			u.expire, rest = t, rest[:j]
		}
	}
	if after, ok := cutPrefixFold(rest, "imap://"); ok {
		i := strings.IndexByte(after, '/')
		if i < 0 {
			return u, false
		}
		hostport := after[:i]
		if at := strings.LastIndexByte(after[:i], '@'); at >= 0 {
			user, _, _ := strings.Cut(after[:at], ";") // ;AUTH=mechanism
			var err error
			if u.user, err = url.PathUnescape(user); err != nil || u.user == "" {
				return u, false
			}
			hostport = after[at+1 : i]
		}
		u.host = strings.ToLower(stripPort(hostport))
		rest = after[i:]
	}
	return u, u.parsePath(rest)
}

// stripPort drops a ":port" from an authority's host (RFC 5092 §3:
// host [":" port], where host may be an IPv6 literal in brackets).
func stripPort(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		return hostport[:i]
	}
	return hostport
}

// owner is the login the URL's authority names. Logins here are
// addresses, and a client that builds a URL from the login "user@domain"
// often writes it unescaped, "imap://user@domain/…", which RFC 5092 reads
// as user "user" at host "domain" (imaptest does, and Dovecot accepts it):
// a user without "@" is therefore taken with the host as its domain.
// "imap://user%40domain@host/…" names the login exactly.
func (u imapURL) owner() string {
	if u.user == "" || strings.Contains(u.user, "@") || u.host == "" {
		return u.user
	}
	return u.user + "@" + u.host
}

// parseAuth reads what follows ";URLAUTH=" at raw[i:] (RFC 4467 §9:
// access [":" mechanism ":" token]).
func (u *imapURL) parseAuth(raw string, i int) bool {
	rest := raw[i+len(";URLAUTH="):]
	access, verifier, full := strings.Cut(rest, ":")
	u.auth, u.rump = true, raw[:len(raw)-len(rest)+len(access)]
	lower := strings.ToLower(access)
	switch {
	case lower == "anonymous" || lower == "authuser":
		u.access = lower
	case strings.HasPrefix(lower, "submit+") || strings.HasPrefix(lower, "user+"):
		kind, id, _ := strings.Cut(access, "+")
		user, err := url.PathUnescape(id)
		if err != nil || user == "" {
			return false
		}
		u.access = strings.ToLower(kind) + "+" + user
	default:
		return false
	}
	if !full {
		return true
	}
	u.mech, u.token, full = strings.Cut(verifier, ":")
	return full && u.mech != "" && len(u.token) >= 32 // RFC 4467 §9: enc-urlauth = 32*HEXDIG
}

// parsePath reads "/" mailbox [;UIDVALIDITY=n] "/;UID=" n and the
// optional section and partial.
func (u *imapURL) parsePath(raw string) bool {
	if !strings.HasPrefix(raw, "/") {
		return false
	}
	parts := strings.Split(raw[1:], "/;")
	if len(parts) < 2 {
		return false
	}
	box, validity, _ := strings.Cut(parts[0], ";")
	var err error
	if u.mailbox, err = url.PathUnescape(box); err != nil {
		return false
	}
	if validity != "" && !parseParam(validity, "UIDVALIDITY=", &u.uidValidity) {
		return false
	}
	if !parseParam(parts[1], "UID=", &u.uid) {
		return false
	}
	for _, p := range parts[2:] {
		if v, ok := cutPrefixFold(p, "SECTION="); ok {
			if u.section, err = url.PathUnescape(v); err != nil {
				return false
			}
		} else if v, ok := cutPrefixFold(p, "PARTIAL="); ok {
			u.partial = v
		} else {
			return false
		}
	}
	return u.uid != 0
}

// fetchSection is the section the URL names, with its partial range
// (RFC 5092 §6: partial-range = number ["." nz-number], to the end
// without a length).
func (u *imapURL) fetchSection() (fetch.Section, error) {
	partial := u.partial
	if partial != "" && !strings.Contains(partial, ".") {
		partial += "." + strconv.FormatInt(math.MaxInt64, 10)
	}
	return fetch.ParseSection(u.section, partial)
}

// errBadURL: the URL names nothing this session may read.
var errBadURL = errors.New("imapd: bad URL")

// urlData is what a URL names, opened: the caller closes blob.
type urlData struct {
	mailbox int64
	m       *store.Message
	blob    store.Blob
	sec     fetch.Section
}

// openURL opens the message a URL names in a mailbox of account, and
// parses its section. Anything the URL gets wrong is errBadURL.
func (s *session) openURL(account int64, u imapURL) (urlData, error) {
	st := s.srv.opts.Store
	mb, err := st.GetMailbox(s.ctx, account, canonicalInbox(u.mailbox))
	if errors.Is(err, store.ErrNotFound) || err == nil && u.uidValidity != 0 && u.uidValidity != mb.UIDValidity {
		return urlData{}, errBadURL
	}
	if err != nil {
		return urlData{}, err
	}
	msgs, err := st.MessagesByUID(s.ctx, mb.ID, []uint32{u.uid}, true)
	if err != nil {
		return urlData{}, err
	}
	sec, serr := u.fetchSection()
	if len(msgs) == 0 || serr != nil {
		return urlData{}, errBadURL
	}
	blob, err := store.OpenMessage(s.ctx, st.Blobs(), &msgs[0])
	return urlData{mailbox: mb.ID, m: &msgs[0], blob: blob, sec: sec}, err
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

// lastIndexFold is strings.LastIndex ignoring the case of ASCII letters;
// sub is in upper case.
func lastIndexFold(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
