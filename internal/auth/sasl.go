package auth

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/emersion/go-sasl"
)

// SASL returns a server for mech, one of Mechanisms() in any case, for one
// authentication exchange with the client at remote. onSuccess, if not nil,
// is called with the account once the exchange succeeds, before the server
// reports done. ctx bounds lookups and failure delays.
//
// Errors from the returned server are those of CheckPassword, plus
// ErrAuthzNotAllowed and malformed-message errors.
func (a *Authenticator) SASL(ctx context.Context, mech string, remote netip.Addr, onSuccess func(Account)) (sasl.Server, error) {
	if onSuccess == nil {
		onSuccess = func(Account) {}
	}
	ctx = withMechanism(ctx, strings.ToUpper(mech))
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return a.plainServer(ctx, remote, onSuccess), nil
	case sasl.Login:
		return &loginServer{a: a, ctx: ctx, remote: remote, onSuccess: onSuccess}, nil
	case scramScheme:
		return a.newSCRAMServer(ctx, remote, onSuccess), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedMechanism, mech)
}

var (
	_ sasl.Server = (*loginServer)(nil)
	_ sasl.Server = (*scramServer)(nil)
)

// sameUser reports whether a SASL authorization identity is acceptable for
// username: empty (RFC 4616 §2: "derive an authorization identity from the
// authentication identity") or the same address up to case.
func sameUser(authzid, username string) bool {
	return authzid == "" || strings.EqualFold(authzid, username)
}

// plainServer implements PLAIN (RFC 4616) with go-sasl's message parsing.
// The authorization identity is checked before the password, so a refused
// authzid reveals nothing about the password.
func (a *Authenticator) plainServer(ctx context.Context, remote netip.Addr, onSuccess func(Account)) sasl.Server {
	return sasl.NewPlainServer(func(authzid, username, password string) error {
		if !sameUser(authzid, username) {
			return ErrAuthzNotAllowed
		}
		acct, err := a.CheckPassword(ctx, remote, username, password)
		if err != nil {
			return err
		}
		onSuccess(acct)
		return nil
	})
}

// LOGIN challenges. draft-murchison-sasl-login-00 §2 suggests "User Name"
// and "Password" and has clients ignore them; deployed servers send these
// strings, which go-sasl's client checks for.
var (
	loginUsernameChallenge = []byte("Username:")
	loginPasswordChallenge = []byte("Password:")
)

type loginState int

const (
	loginStart loginState = iota
	loginWantUsername
	loginWantPassword
	loginDone
)

// loginServer implements the obsolete but ubiquitous LOGIN mechanism
// (draft-murchison-sasl-login-00): the server asks for the user name, then
// the password. A non-empty initial response is taken as the user name.
type loginServer struct {
	a         *Authenticator
	ctx       context.Context
	remote    netip.Addr
	onSuccess func(Account)

	state    loginState
	username string
}

// Next implements sasl.Server.
func (s *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch s.state {
	case loginStart:
		if len(response) == 0 {
			s.state = loginWantUsername
			return loginUsernameChallenge, false, nil
		}
		return s.gotUsername(response)
	case loginWantUsername:
		return s.gotUsername(response)
	case loginWantPassword:
		s.state = loginDone
		acct, err := s.a.CheckPassword(s.ctx, s.remote, s.username, string(response))
		if err != nil {
			return nil, true, err
		}
		s.onSuccess(acct)
		return nil, true, nil
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

func (s *loginServer) gotUsername(response []byte) ([]byte, bool, error) {
	s.username = string(response)
	s.state = loginWantPassword
	return loginPasswordChallenge, false, nil
}
