package smtpd

import (
	"slices"
	"strings"

	"github.com/emersion/go-smtp"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
)

var errSenderDenied = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
	Message: "Sender address does not belong to the authenticated user"}

// checkSender: the envelope sender of submitted mail must be the user's
// own address or an alias that reaches the user (RFC 6409 §6.1 lets the MSA
// enforce this). The null sender is refused: users do not send bounces.
func (s *session) checkSender(from string) error {
	if !s.ownsAddress(from) {
		return errSenderDenied
	}
	return nil
}

// checkFromHeader applies the same rule to every From header address.
func (s *session) checkFromHeader(msg delivery.Received) error {
	if msg.Parsed == nil || len(msg.Parsed.Envelope.From) == 0 {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message: "Message has no From header (RFC 5322 §3.6)"}
	}
	for _, a := range msg.Parsed.Envelope.From {
		if a.Host == "" { // group syntax marker
			continue
		}
		if !s.ownsAddress(a.Mailbox + "@" + a.Host) {
			return errSenderDenied
		}
	}
	return nil
}

func (s *session) ownsAddress(addr string) bool {
	if s.account == nil || addr == "" {
		return false
	}
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return false
	}
	user := s.account.Address
	if a.Key() == user {
		return true
	}
	if base, ok := a.StripTag(); ok && base.Key() == user {
		return true
	}
	targets, err := s.srv.opts.Pipeline.AliasTargets(s.ctx, a.Key())
	if err != nil {
		return false
	}
	return slices.ContainsFunc(targets, func(t string) bool { return strings.EqualFold(t, user) })
}
