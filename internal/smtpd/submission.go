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

var (
	errSenderDenied = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Sender address does not belong to the authenticated user"}
	errNullSender = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Submitted mail needs a sender address"}
)

// checkSubmitter: submitted mail needs AUTH and a sender the user owns
// (checkSender), or, with POP-before-SMTP, a successful POP3 or IMAP
// login from the client's IP within the window. Such a client may relay,
// as DRAC and pop-before-smtp allow, with any well-formed sender but the
// null one: nothing ties the SMTP session to one account. The log says
// whose login opened the door.
func (s *session) checkSubmitter(from string) error {
	s.loginFor = ""
	if s.account != nil {
		return s.checkSender(from)
	}
	account, ok := s.recentLogin()
	switch {
	case !ok:
		return errAuthRequired
	case from == "":
		return errNullSender
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return errMalformedSender
	}
	s.loginFor = account
	s.srv.log.Info("submission without AUTH authorised by a recent login", "ip", s.ip, "account", account, "from", from)
	return nil
}

// recentLogin returns the account that logged in over POP3 or IMAP from
// the client's IP within the POP-before-SMTP window.
func (s *session) recentLogin() (string, bool) {
	o := s.srv.opts
	if o.RecentLogins == nil || !s.ip.IsValid() {
		return "", false
	}
	return o.RecentLogins.Lookup(s.ip, o.Now(), o.PopBeforeSMTP)
}

// checkSender: the envelope sender of submitted mail must be the user's
// own address or an alias that reaches the user (RFC 6409 §6.1 lets the MSA
// enforce this). The null sender is refused: users do not send bounces.
func (s *session) checkSender(from string) error {
	if !s.ownedBy(s.account.Address, from) {
		return errSenderDenied
	}
	return nil
}

var errBadFrom = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
	Message: "Submitted mail needs exactly one From header with plain addresses (RFC 5322 §3.6)"}

// checkFromHeader applies the sender rule to the From header: every
// address must be the authenticated user's. After POP-before-SMTP any
// address is accepted. It reports whether the message is to be
// DKIM-signed: only when every address belongs to the user (after
// POP-before-SMTP, to the account whose login authorised the client), so
// that the signature never vouches for an address its sender does not own.
func (s *session) checkFromHeader(msg delivery.Received) (sign bool, err error) {
	addrs, err := fromAddresses(msg)
	if err != nil {
		return false, err
	}
	user := s.loginFor
	if s.account != nil {
		user = s.account.Address
	}
	owned := !slices.ContainsFunc(addrs, func(a string) bool { return !s.ownedBy(user, a) })
	if !owned && s.account != nil {
		return false, errSenderDenied
	}
	return owned, nil
}

// fromAddresses reads the From header strictly, since what a recipient's
// mail client shows is what matters: exactly one From field (RFC 5322
// §3.6), no group syntax, and the header within the parser's limits (a
// truncated field or header could hide an address). The addresses are
// parsed twice, by package message and by net/mail; any disagreement is
// refused rather than guessed at. A header with a line that is not a
// field before its blank line is refused (a lenient reader may take a
// From after it), and so is a display name that holds an at sign once
// RFC 2047-decoded ("bob@example.test" <alice@…>), since many clients
// show only the name.
func fromAddresses(msg delivery.Received) ([]string, error) {
	p := msg.Parsed
	if p == nil || len(p.Headers) >= message.MaxHeaderFields {
		return nil, errBadFrom
	}
	if p.StrayLine {
		return nil, errStrayHeaderLine
	}
	var value string
	n := 0
	for _, f := range p.Headers {
		if strings.EqualFold(f.Name, "From") {
			value, n = f.Value, n+1
		}
	}
	if n != 1 || len(value) >= message.MaxFieldSize {
		return nil, errBadFrom
	}
	strict, err := fromParser.ParseList(value)
	ours := p.Envelope.From
	if err != nil || len(strict) == 0 || len(strict) != len(ours) {
		return nil, errBadFrom
	}
	addrs := make([]string, len(ours))
	for i, a := range ours {
		if a.IsGroupStart() || a.IsGroupEnd() || !strings.EqualFold(a.Mailbox+"@"+a.Host, strict[i].Address) {
			return nil, errBadFrom
		}
		if looksLikeAddress(a.Name) || looksLikeAddress(strict[i].Name) {
			return nil, errAddressInName
		}
		addrs[i] = strict[i].Address
	}
	return addrs, nil
}

var (
	errStrayHeaderLine = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: "Submitted mail has a header line that is not a header field (RFC 5322 §2.2)"}
	errAddressInName = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "The From display name must not hold an address"}
)

// looksLikeAddress reports a display name with an at sign: ASCII, full
// width (U+FF20) or small (U+FE6B).
func looksLikeAddress(name string) bool { return strings.ContainsAny(name, "@\uFF20\uFE6B") }

// fromParser decodes RFC 2047 display names in any charset without
// failing: only the addresses are checked.
var fromParser = netmail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// ownedBy reports whether addr is user's: the address itself, with a
// +tag, or an alias that reaches user.
func (s *session) ownedBy(user, addr string) bool {
	if user == "" || addr == "" {
		return false
	}
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return false
	}
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
