package managesieve

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/netlimit"
	"facteur.dev/facteur/internal/store"
)

// mechanisms are the SASL mechanisms offered; auth also knows LOGIN,
// which ManageSieve clients do not need.
var mechanisms = []string{"PLAIN", "SCRAM-SHA-256"}

// implementation is the IMPLEMENTATION capability (RFC 5804 §1.7).
const implementation = "Facteur"

// loginAllowed: passwords travel only over TLS, or from
// auth.plaintext_networks (RFC 5804 §2.1: a server should not offer
// plaintext mechanisms without TLS).
func (s *session) loginAllowed() bool {
	if s.tls {
		return true
	}
	return slices.ContainsFunc(s.srv.opts.PlaintextNetworks, func(p netip.Prefix) bool { return p.Contains(s.ip) })
}

// capabilities writes the capability lines (RFC 5804 §1.7) for this
// connection in its state, without the OK that ends them.
func (s *session) capabilities() {
	o := s.srv.opts
	line := func(name, value string) {
		s.w.WriteString(quote(name))
		if value != "" || name == "SASL" || name == "SIEVE" {
			s.w.WriteString(" " + quote(value))
		}
		s.w.WriteString("\r\n")
	}
	starttls := !s.tls && o.TLS != nil && s.account == nil
	line("IMPLEMENTATION", implementation)
	// §1.7: the SASL list may be empty only when STARTTLS is offered.
	sasl := strings.Join(mechanisms, " ")
	if starttls && !s.loginAllowed() {
		sasl = ""
	}
	line("SASL", sasl)
	line("SIEVE", strings.Join(o.Extensions, " "))
	if starttls {
		line("STARTTLS", "")
	}
	if o.MaxRedirects > 0 {
		line("MAXREDIRECTS", strconv.Itoa(o.MaxRedirects))
	}
	if len(o.Notify) > 0 {
		line("NOTIFY", strings.Join(o.Notify, " "))
	}
	if s.account != nil {
		line("OWNER", s.account.Address)
	}
	line("UNAUTHENTICATE", "")
	line("VERSION", "1.0")
}

// capability: RFC 5804 §2.4.
func (s *session) capability(args []arg) error {
	if len(args) != 0 {
		return refuse("", "CAPABILITY takes no arguments")
	}
	s.capabilities()
	s.respond("OK", "", "Capability completed")
	return nil
}

// logout: RFC 5804 §2.3.
func (s *session) logout([]arg) error {
	s.respond("OK", "", "Logout completed")
	return errLogout
}

// noop: RFC 5804 §2.13, with the optional tag echoed in a TAG code.
func (s *session) noop(args []arg) error {
	if len(args) == 0 {
		s.respond("OK", "", "Done")
		return nil
	}
	tag, err := stringArgs("NOOP", args, 1)
	if err != nil {
		return err
	}
	s.respond("OK", "TAG "+quote(tag[0]), "Done")
	return nil
}

// starttls: RFC 5804 §2.2. Anything pipelined after STARTTLS is dropped
// with the plaintext buffer, so it cannot be injected into the TLS
// session; the capabilities are sent again over TLS.
func (s *session) starttls(args []arg) error {
	if s.tls || s.srv.opts.TLS == nil || len(args) != 0 {
		return refuse("", "STARTTLS not available")
	}
	s.respond("OK", "", "Begin TLS negotiation now")
	if err := s.w.Flush(); err != nil {
		return err
	}
	if err := s.srv.conns.StartTLS(s.ctx, s.conn, s.srv.opts.TLS, s.srv.opts.IdleTimeout, func(tc *tls.Conn) { s.conn = tc }); err != nil {
		return err
	}
	s.p.r.Reset(s.conn)
	s.w.Reset(s.conn)
	s.tls = true
	s.capabilities()
	s.respond("OK", "", "TLS negotiation successful")
	return nil
}

// unauthenticate: RFC 5804 §2.14.
func (s *session) unauthenticate([]arg) error {
	s.loggedOut()
	s.account, s.commands = nil, 0
	s.respond("OK", "", "Unauthenticate completed")
	return nil
}

// loggedOut removes a logged-in session from Options.Sessions.
func (s *session) loggedOut() {
	if s.unregister != nil {
		s.unregister()
		s.unregister = nil
	}
}

// errCancelled: the client answered a challenge with "*" (RFC 5804 §2.1).
var errCancelled = errors.New("managesieve: authentication cancelled")

// authenticate: RFC 5804 §2.1, AUTHENTICATE mechanism [initial-response].
func (s *session) authenticate(args []arg) error {
	if !s.loginAllowed() {
		return refuse("ENCRYPT-NEEDED", "Use STARTTLS first")
	}
	if len(args) != 1 && len(args) != 2 {
		return refuse("", "AUTHENTICATE takes a mechanism and an optional initial response")
	}
	strs, err := stringArgs("AUTHENTICATE", args, len(args))
	if err != nil {
		return err
	}
	if !slices.Contains(mechanisms, strings.ToUpper(strs[0])) {
		return refuse("", "Unsupported mechanism")
	}
	var acct *auth.Account
	srv, err := s.srv.opts.Auth.SASL(s.ctx, strs[0], s.ip, func(a auth.Account) { acct = &a })
	if err != nil {
		return refuse("", "Unsupported mechanism")
	}
	var resp []byte
	if len(strs) == 2 {
		if resp, err = base64.StdEncoding.DecodeString(strs[1]); err != nil {
			return refuse("", "Invalid base64")
		}
	}
	outcome, ioErr := s.saslExchange(srv, resp)
	switch {
	case ioErr != nil:
		return ioErr
	case errors.Is(outcome, errCancelled):
		return refuse("", "Authentication cancelled")
	case outcome != nil || acct == nil:
		return s.authFailed(outcome)
	}
	s.account, s.commands = &store.Account{ID: acct.ID, Address: acct.Address}, 0
	netlimit.Authenticated(s.conn) // no login timeout from now on
	conn := s.conn                 // no STARTTLS after login: this stays the connection
	s.unregister = s.srv.opts.Sessions.Add(acct.Address, func() { conn.Close() })
	s.log.Debug("managesieve login", "account", acct.Address)
	s.respond("OK", "", "Authenticated")
	return nil
}

// authFailed refuses a login: TRYLATER (RFC 5804 §1.3) for the failure
// limit or a store that cannot answer, else a plain NO.
func (s *session) authFailed(err error) error {
	var ce *commandError
	switch {
	case errors.As(err, &ce):
		return err
	case errors.Is(err, auth.ErrTooManyFailures):
		return refuse("TRYLATER", "Too many failed logins, try again later")
	case err == nil, errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrAuthzNotAllowed),
		errors.Is(err, sasl.ErrUnexpectedClientResponse):
		return refuse("", "Authentication failed")
	}
	s.log.Warn("managesieve login", "err", err)
	return refuse("", "Authentication failed")
}

// saslExchange sends challenges (a string of base64) and reads responses
// (a string of base64, or "*" to cancel) until the mechanism is done
// (RFC 5804 §2.1). outcome is the mechanism's verdict; ioErr a failure
// of the connection, which ends the session.
func (s *session) saslExchange(srv sasl.Server, resp []byte) (outcome, ioErr error) {
	for {
		challenge, done, err := srv.Next(resp)
		if err != nil || done {
			return err, nil
		}
		s.w.WriteString(quote(base64.StdEncoding.EncodeToString(challenge)) + "\r\n")
		if err := s.w.Flush(); err != nil {
			return nil, err
		}
		line, err := s.p.readString()
		var ce *commandError
		switch {
		case errors.As(err, &ce):
			return err, nil
		case err != nil:
			return nil, err
		case line == "*":
			return errCancelled, nil
		}
		if resp, err = base64.StdEncoding.DecodeString(line); err != nil {
			return refuse("", "Invalid base64"), nil
		}
	}
}
