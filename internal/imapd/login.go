package imapd

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/netlimit"
)

// loginAllowed: passwords travel only over TLS, or from
// auth.plaintext_networks (RFC 9051 §6.2.3, as for SMTP AUTH and POP3).
func (s *session) loginAllowed() bool {
	if s.tls {
		return true
	}
	return slices.ContainsFunc(s.srv.opts.PlaintextNetworks, func(p netip.Prefix) bool { return p.Contains(s.ip) })
}

func (s *session) starttlsOffered() bool { return !s.tls && s.srv.opts.TLS != nil }

// starttls: RFC 9051 §6.2.1. Anything the client pipelined after STARTTLS
// is dropped with the plaintext buffer.
func (s *session) starttls(c *cmd) error {
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	if !s.starttlsOffered() {
		return bad("STARTTLS not available")
	}
	s.enc.Raw(c.tag + " OK Begin TLS negotiation now\r\n")
	if err := s.enc.Flush(); err != nil {
		return err
	}
	if err := s.srv.conns.StartTLS(s.ctx, s.conn, s.srv.opts.TLS, time.Minute, func(tc *tls.Conn) { s.setConn(tc) }); err != nil {
		s.loggedOut = true
		return errHandled
	}
	s.tls = true
	return errHandled
}

// errHandled: the handler wrote its tagged response itself.
var errHandled = errors.New("imapd: response sent")

// login: RFC 9051 §6.2.3.
func (s *session) login(c *cmd) error {
	if err := s.dec.SP(); err != nil {
		return err
	}
	user, err := s.dec.AString()
	if err != nil {
		return err
	}
	if err := s.dec.SP(); err != nil {
		return err
	}
	pass, err := s.dec.AString()
	if err != nil {
		return err
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	if !s.loginAllowed() {
		return no("PRIVACYREQUIRED", "Use STARTTLS first")
	}
	acct, err := s.srv.opts.Auth.CheckPassword(s.ctx, s.ip, user, pass)
	if err != nil {
		return s.authFailed(err)
	}
	return s.loggedIn(acct)
}

// authFailed maps a failed login to a response code (RFC 5530).
func (s *session) authFailed(err error) error {
	switch {
	case errors.Is(err, auth.ErrTooManyFailures):
		return no("UNAVAILABLE", "Too many failed logins, try again later")
	case errors.Is(err, errCancelled):
		return bad("Authentication cancelled")
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrAuthzNotAllowed):
		return no("AUTHENTICATIONFAILED", "Authentication failed")
	}
	var r *response
	if errors.As(err, &r) {
		return r
	}
	s.log.Warn("imap login", "err", err)
	return no("AUTHENTICATIONFAILED", "Authentication failed")
}

// loggedIn enters the authenticated state, unless the account already has
// its maximum of sessions.
func (s *session) loggedIn(acct auth.Account) error {
	s.srv.opts.RecentLogins.Record(s.ip, acct.Address, time.Now()) // the password was right
	if !s.srv.opts.Shared.acquire(acct.ID, s.resets, s.srv.opts.MaxSessionsPerAccount) {
		return no("LIMIT", "Too many sessions for this account")
	}
	s.acct, s.state = acct, stateAuth
	netlimit.Authenticated(s.conn) // no login timeout from now on
	s.wake, s.stopWatch = s.srv.opts.Store.Watch(acct.ID)
	conn := s.conn // no STARTTLS after login: this stays the connection
	s.unregister = s.srv.opts.Sessions.Add(acct.Address, func() { conn.Close() })
	s.log = s.log.With("account", acct.Address)
	return ok("CAPABILITY "+s.capabilities(), "Logged in")
}

// authenticate: RFC 9051 §6.2.2 with SASL-IR (RFC 4959).
func (s *session) authenticate(c *cmd) error {
	if err := s.dec.SP(); err != nil {
		return err
	}
	mech, err := s.dec.Atom()
	if err != nil {
		return err
	}
	var initial []byte
	hasInitial := false
	if s.dec.Consume(' ') {
		ir, err := s.dec.Atom() // base64 chars and "=" are atom chars
		if err != nil {
			return err
		}
		if initial, err = decodeResponse(ir); err != nil {
			return bad("Invalid base64")
		}
		hasInitial = true
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	if !s.loginAllowed() {
		return no("PRIVACYREQUIRED", "Use STARTTLS first")
	}
	if !slices.Contains(mechanisms, strings.ToUpper(mech)) {
		return no("CANNOT", "Unsupported mechanism")
	}
	var acct *auth.Account
	srv, err := s.srv.opts.Auth.SASL(s.ctx, mech, s.ip, func(a auth.Account) { acct = &a })
	if err != nil {
		return no("CANNOT", "Unsupported mechanism")
	}
	if !hasInitial {
		initial = nil
	}
	outcome, ioErr := s.saslExchange(srv, initial)
	switch {
	case ioErr != nil:
		return ioErr
	case outcome != nil || acct == nil:
		return s.authFailed(outcome)
	}
	return s.loggedIn(*acct)
}

// errCancelled: the client answered a challenge with "*" (RFC 9051 §6.2.2).
var errCancelled = errors.New("imapd: authentication cancelled")

// saslExchange sends challenges ("+ base64") and reads responses until
// the mechanism is done. outcome is the mechanism's verdict; ioErr a
// failure of the connection.
func (s *session) saslExchange(srv sasl.Server, resp []byte) (outcome, ioErr error) {
	for {
		challenge, done, err := srv.Next(resp)
		if err != nil || done {
			return err, nil
		}
		s.enc.Raw("+ " + base64.StdEncoding.EncodeToString(challenge) + "\r\n")
		if err := s.enc.Flush(); err != nil {
			return nil, err
		}
		line, err := s.dec.Line()
		switch {
		case err != nil && !isRecoverable(err):
			return nil, err
		case err != nil:
			return bad("Invalid response"), nil
		case line == "*":
			return errCancelled, nil
		}
		if resp, err = decodeResponse(line); err != nil {
			return bad("Invalid base64"), nil
		}
	}
}

func isRecoverable(err error) bool { return err != nil && !imapwire.IsFatal(err) }

// decodeResponse decodes a base64 SASL response; "=" is an empty one
// (RFC 4959 §3).
func decodeResponse(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "=" || s == "" {
		return []byte{}, nil
	}
	return base64.StdEncoding.DecodeString(s)
}
