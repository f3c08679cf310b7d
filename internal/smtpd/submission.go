package smtpd

import (
	"io"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"

	"github.com/emersion/go-smtp"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/message"
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

var errBadFrom = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
	Message: "Submitted mail needs exactly one From header with plain addresses (RFC 5322 §3.6)"}

// checkFromHeader applies the sender rule to the From header. The header
// is read strictly, since what a recipient's mail client shows is what
// matters: exactly one From field (RFC 5322 §3.6), no group syntax, every
// address one the user owns, and the header within the parser's limits
// (a truncated field or header could hide an address). The addresses
// are parsed twice, by package message and by net/mail; any
// disagreement is refused rather than guessed at.
func (s *session) checkFromHeader(msg delivery.Received) error {
	p := msg.Parsed
	if p == nil || len(p.Headers) >= message.MaxHeaderFields {
		return errBadFrom
	}
	var value string
	n := 0
	for _, f := range p.Headers {
		if strings.EqualFold(f.Name, "From") {
			value, n = f.Value, n+1
		}
	}
	if n != 1 || len(value) >= message.MaxFieldSize {
		return errBadFrom
	}
	strict, err := fromParser.ParseList(value)
	ours := p.Envelope.From
	if err != nil || len(strict) == 0 || len(strict) != len(ours) {
		return errBadFrom
	}
	for i, a := range ours {
		if a.IsGroupStart() || a.IsGroupEnd() || !strings.EqualFold(a.Mailbox+"@"+a.Host, strict[i].Address) {
			return errBadFrom
		}
		if !s.ownsAddress(strict[i].Address) {
			return errSenderDenied
		}
	}
	return nil
}

// fromParser decodes RFC 2047 display names in any charset without
// failing: only the addresses are checked.
var fromParser = netmail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

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
