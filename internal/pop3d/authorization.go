package pop3d

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
	"facteur.dev/facteur/internal/netlimit"
)

// mechanisms are the SASL mechanisms offered (RFC 5034); auth also knows
// LOGIN, which POP3 clients do not need.
var mechanisms = []string{"PLAIN", "SCRAM-SHA-256"}

// loginAllowed: passwords travel only over TLS, or from
// auth.plaintext_networks (RFC 2595 §2.1's advice, as for SMTP AUTH).
func (s *session) loginAllowed() bool {
	if s.tls {
		return true
	}
	return slices.ContainsFunc(s.srv.opts.PlaintextNetworks, func(p netip.Prefix) bool { return p.Contains(s.ip) })
}

// capa: RFC 2449 §5. It lists exactly what works in this state on this
// connection.
func (s *session) capa(string) error {
	caps := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "UTF8"}
	if s.state == stateAuthorization {
		if s.loginAllowed() {
			caps = append(caps, "USER", "SASL "+strings.Join(mechanisms, " "))
		}
		if s.stlsOffered() {
			caps = append(caps, "STLS")
		}
	}
	// RFC 2449 §6.5, §6.7: no minimum delay between logins is enforced,
	// and the server never deletes messages on its own.
	caps = append(caps, "EXPIRE NEVER", "LOGIN-DELAY 0", "IMPLEMENTATION Facteur")
	s.reply("+OK Capability list follows")
	s.multiline(caps)
	return nil
}

func (s *session) stlsOffered() bool { return !s.tls && s.srv.opts.TLS != nil }

// stls: RFC 2595 §4. Anything the client pipelined after STLS is dropped
// with the plaintext buffer, so it cannot be injected into the TLS session.
func (s *session) stls(string) error {
	if !s.stlsOffered() {
		s.reply("-ERR STLS not available")
		return nil
	}
	s.reply("+OK Begin TLS negotiation")
	if err := s.w.Flush(); err != nil {
		return err
	}
	if err := s.srv.conns.StartTLS(s.ctx, s.conn, s.srv.opts.TLS, s.srv.opts.IdleTimeout, func(tc *tls.Conn) { s.conn = tc }); err != nil {
		return err
	}
	s.r.Reset(s.conn)
	s.w.Reset(s.conn)
	s.tls, s.user = true, ""
	return nil
}

// utf8Cmd: RFC 6856 §2, valid in AUTHORIZATION. Messages are sent as
// stored either way; no downgrade (RFC 6857) is done for other clients.
func (s *session) utf8Cmd(string) error {
	s.utf8 = true
	s.reply("+OK UTF8 enabled")
	return nil
}

// userCmd: RFC 1939 §7 USER. The name is not checked here, so USER does
// not reveal which accounts exist.
func (s *session) userCmd(arg string) error {
	if !s.loginAllowed() {
		s.reply("-ERR %sLogin requires TLS: use STLS first", codeAuth)
		return nil
	}
	if arg == "" {
		s.reply("-ERR Usage: USER name")
		return nil
	}
	s.user = arg
	s.reply("+OK Send PASS")
	return nil
}

// pass: RFC 1939 §7 PASS. The whole rest of the line is the password, so
// it may contain spaces.
func (s *session) pass(arg string) error {
	user := s.user
	s.user = ""
	switch {
	case !s.loginAllowed():
		s.reply("-ERR %sLogin requires TLS: use STLS first", codeAuth)
		return nil
	case user == "":
		s.reply("-ERR USER first")
		return nil
	}
	acct, err := s.srv.opts.Auth.CheckPassword(s.ctx, s.ip, user, arg)
	if err != nil {
		s.authFailed(err, true)
		return nil
	}
	s.loggedIn(acct)
	return nil
}

// authFailed answers a failed login with RFC 3206 codes: [AUTH] for bad
// credentials (or a malformed SASL exchange), [SYS/TEMP] for the failure
// limit and, when other errors can only come from the store (PASS), those.
func (s *session) authFailed(err error, otherIsSystem bool) {
	known := errors.Is(err, auth.ErrInvalidCredentials) || errors.Is(err, auth.ErrAuthzNotAllowed)
	switch {
	case errors.Is(err, auth.ErrTooManyFailures):
		s.reply("-ERR %sToo many failed logins, try again later", codeSysTemp)
	case !known && otherIsSystem:
		s.log.Warn("pop3 login", "err", err)
		s.reply("-ERR %sCannot check the password now, try again later", codeSysTemp)
	default:
		s.reply("-ERR %sAuthentication failed", codeAuth)
	}
}

// loggedIn opens the maildrop and enters TRANSACTION (RFC 1939 §4), or
// stays in AUTHORIZATION with [IN-USE] (RFC 2449 §8.1.1) or [SYS/TEMP].
func (s *session) loggedIn(acct auth.Account) {
	s.srv.opts.RecentLogins.Record(s.ip, acct.Address, time.Now()) // the password was right
	drop, err := s.openMaildrop(acct.ID)
	switch {
	case errors.Is(err, errInUse):
		s.reply("-ERR %sMaildrop already locked by another POP3 session", codeInUse)
		return
	case err != nil:
		s.log.Warn("pop3 open maildrop", "account", acct.Address, "err", err)
		s.reply("-ERR %sCannot open maildrop, try again later", codeSysTemp)
		return
	}
	s.drop, s.state = drop, stateTransaction
	netlimit.Authenticated(s.conn) // no login timeout from now on
	conn := s.conn                 // no STLS after login: this stays the connection
	s.unregister = s.srv.opts.Sessions.Add(acct.Address, func() { conn.Close() })
	n, size := drop.stat()
	s.log.Debug("pop3 login", "account", acct.Address, "messages", n)
	s.reply("+OK Maildrop has %d messages (%d octets)", n, size)
}

// authCmd: RFC 5034 AUTH mechanism [initial-response]. A bare AUTH lists
// the mechanisms, as many servers do for older clients.
func (s *session) authCmd(arg string) error {
	if !s.loginAllowed() {
		s.reply("-ERR %sLogin requires TLS: use STLS first", codeAuth)
		return nil
	}
	mech, initial, hasInitial := strings.Cut(strings.TrimSpace(arg), " ")
	if mech == "" {
		s.reply("+OK")
		s.multiline(mechanisms)
		return nil
	}
	if !slices.Contains(mechanisms, strings.ToUpper(mech)) {
		s.reply("-ERR Unsupported mechanism")
		return nil
	}
	var acct *auth.Account
	srv, err := s.srv.opts.Auth.SASL(s.ctx, mech, s.ip, func(a auth.Account) { acct = &a })
	if err != nil {
		s.reply("-ERR Unsupported mechanism")
		return nil
	}
	var resp []byte
	if hasInitial {
		if resp, err = decodeResponse(initial); err != nil {
			s.reply("-ERR %s", err)
			return nil
		}
	}
	outcome, ioErr := s.saslExchange(srv, resp)
	switch {
	case ioErr != nil:
		return ioErr
	case errors.Is(outcome, errCancelled):
		s.reply("-ERR Authentication cancelled")
	case outcome != nil || acct == nil:
		s.authFailed(outcome, false)
	default:
		s.loggedIn(*acct)
	}
	return nil
}

// errCancelled: the client answered a challenge with "*" (RFC 5034 §4).
var errCancelled = errors.New("pop3d: authentication cancelled")

// saslExchange sends challenges ("+ base64") and reads responses until
// the mechanism is done (RFC 5034 §4). outcome is the mechanism's verdict;
// ioErr a failure of the connection, which ends the session.
func (s *session) saslExchange(srv sasl.Server, resp []byte) (outcome, ioErr error) {
	for {
		challenge, done, err := srv.Next(resp)
		if err != nil || done {
			return err, nil
		}
		s.reply("+ %s", base64.StdEncoding.EncodeToString(challenge))
		if err := s.w.Flush(); err != nil {
			return nil, err
		}
		line, err := s.readLine()
		switch {
		case errors.Is(err, errLineTooLong):
			return err, nil
		case err != nil:
			return nil, err
		case line == "*":
			return errCancelled, nil
		}
		if resp, err = decodeResponse(line); err != nil {
			return err, nil
		}
	}
}

// decodeResponse decodes a base64 SASL response; "=" is an empty one
// (RFC 5034 §4).
func decodeResponse(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "=" {
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("Invalid base64")
	}
	return b, nil
}
