package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/xdg-go/scram"
)

type scramState int

const (
	scramWantFirst scramState = iota // client-first-message
	scramWantFinal                   // client-final-message
	scramWantEmpty                   // empty response after server-final-message
	scramDone
)

// scramServer adapts xdg-go/scram's ServerConversation to sasl.Server for
// SCRAM-SHA-256 without channel binding, adding failure limiting and
// fake credentials for unknown users.
type scramServer struct {
	a         *Authenticator
	ctx       context.Context
	remote    netip.Addr
	onSuccess func(Account)

	conv    *scram.ServerConversation
	state   scramState
	address string  // lowercased username from client-first-message
	acct    Account // valid when known
	known   bool    // acct exists, is enabled and has SCRAM credentials
	refusal error   // set by the credential callback to explain a refusal
}

func (a *Authenticator) newSCRAMServer(ctx context.Context, remote netip.Addr, onSuccess func(Account)) *scramServer {
	s := &scramServer{a: a, ctx: ctx, remote: remote, onSuccess: onSuccess}
	srv, _ := scram.SHA256.NewServer(s.credentials) // never fails
	s.conv = srv.NewConversation()
	return s
}

// Next implements sasl.Server.
func (s *scramServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch s.state {
	case scramWantFirst:
		return s.first(response)
	case scramWantFinal:
		return s.final(response)
	case scramWantEmpty:
		return s.finish(response)
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

// first handles the client-first-message (RFC 5802 §5.1) and answers with
// the server-first-message: nonce, salt and iteration count.
func (s *scramServer) first(response []byte) ([]byte, bool, error) {
	if response == nil {
		// SCRAM is client-first: without an initial response, send an
		// empty challenge to get one (RFC 4422 §5).
		return []byte{}, false, nil
	}
	s.state = scramDone
	out, err := s.conv.Step(string(response))
	if s.refusal != nil {
		return nil, true, s.refusal
	}
	if err != nil {
		return nil, true, fmt.Errorf("auth: SCRAM client-first-message: %w", err)
	}
	if !sameUser(s.conv.AuthzID(), s.conv.Username()) {
		return nil, true, ErrAuthzNotAllowed
	}
	s.state = scramWantFinal
	return []byte(out), false, nil
}

// credentials is the xdg-go/scram lookup callback, run inside the first
// Step. It refuses over-limit clients and hands out fake credentials for
// users that cannot authenticate, so the exchange fails only at the proof.
func (s *scramServer) credentials(username string) (scram.StoredCredentials, error) {
	s.address = strings.ToLower(username)
	if s.a.limiter.blocked(s.remote, s.address) != "" {
		s.refusal = ErrTooManyFailures
		return scram.StoredCredentials{}, s.refusal
	}
	acct, err := s.a.lookup.LookupAccount(s.ctx, s.address)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.a.fakeSCRAM(s.address), nil
	case err != nil:
		s.refusal = fmt.Errorf("auth: looking up %q: %w", s.address, err)
		return scram.StoredCredentials{}, s.refusal
	case acct.Disabled || acct.SCRAM == "":
		return s.a.fakeSCRAM(s.address), nil
	}
	creds, err := parseSCRAM(acct.SCRAM)
	if err != nil {
		s.refusal = fmt.Errorf("auth: account %d: %w", acct.ID, err)
		return scram.StoredCredentials{}, s.refusal
	}
	s.acct, s.known = acct, true
	return creds, nil
}

// final checks the client proof in the client-final-message (RFC 5802 §5.1
// "p") and answers with the server signature. The attempt is reserved
// here, where the proof is checked (the check at the first message only
// spares refused clients a round trip), so parallel exchanges get no more
// proofs checked than the limits allow. Any failure here counts against
// the client network and the account.
func (s *scramServer) final(response []byte) ([]byte, bool, error) {
	s.state = scramDone
	t, reason := s.a.limiter.reserve(s.remote, s.address)
	if reason != "" {
		s.a.logLogin(s.ctx, s.remote, s.address, ErrTooManyFailures)
		return nil, true, ErrTooManyFailures
	}
	out, err := s.conv.Step(string(response))
	if err != nil || !s.conv.Valid() || !s.known {
		err := s.a.fail(s.ctx, t, s.remote)
		s.a.logLogin(s.ctx, s.remote, s.address, err)
		return nil, true, err
	}
	t.succeeded()
	s.a.logLogin(s.ctx, s.remote, s.address, nil)
	// sasl.Server cannot return data with success, so the
	// server-final-message goes out as a challenge and the client answers
	// with an empty response (RFC 4422 §5).
	s.state = scramWantEmpty
	return []byte(out), false, nil
}

// finish takes the client's empty response to the server-final-message.
func (s *scramServer) finish(response []byte) ([]byte, bool, error) {
	s.state = scramDone
	if len(response) != 0 {
		return nil, true, sasl.ErrUnexpectedClientResponse
	}
	s.onSuccess(s.acct)
	return nil, true, nil
}
