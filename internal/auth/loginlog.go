package auth

import (
	"context"
	"errors"
	"net/netip"
)

// The context of a login, for its log line: the protocol a server sets on
// its session's context, the SASL mechanism the Authenticator sets.
type ctxKey int

const (
	protocolKey ctxKey = iota
	mechanismKey
)

// WithProtocol names the protocol ("imap", "pop3", "submission",
// "managesieve") of the logins made with ctx, for their log lines.
func WithProtocol(ctx context.Context, protocol string) context.Context {
	return context.WithValue(ctx, protocolKey, protocol)
}

func withMechanism(ctx context.Context, mech string) context.Context {
	return context.WithValue(ctx, mechanismKey, mech)
}

func ctxString(ctx context.Context, k ctxKey, def string) string {
	if v, ok := ctx.Value(k).(string); ok && v != "" {
		return v
	}
	return def
}

// logLogin writes the one line every login gets at info, good or bad
// (never the password): what fail2ban and an administrator read.
//
//	msg=login result=ok|failed|refused|error protocol=imap mechanism=PLAIN user=alice@example.test ip=192.0.2.1
func (a *Authenticator) logLogin(ctx context.Context, remote netip.Addr, user string, err error) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, ErrTooManyFailures):
		result = "refused" // a limit, or no room to wait for a hash
	case errors.Is(err, ErrInvalidCredentials), errors.Is(err, ErrAuthzNotAllowed):
		result = "failed"
	default:
		result = "error"
	}
	a.opts.Log.Info("login", "result", result, "protocol", ctxString(ctx, protocolKey, "unknown"),
		"mechanism", ctxString(ctx, mechanismKey, "password"), "user", user, "ip", remote)
}
