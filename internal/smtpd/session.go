package smtpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/netlimit"
)

// session is one SMTP connection's state.
type session struct {
	srv     *Server
	conn    *smtp.Conn
	ip      netip.Addr
	ctx     context.Context
	cancel  context.CancelFunc
	account *auth.Account // set by AUTH
	// loginFor is, without AUTH, the account whose recent POP3 or IMAP
	// login from this IP authorised the transaction (POP-before-SMTP).
	loginFor string
	from     string
	opts     *smtp.MailOptions
	routes   []delivery.Route
	tx       *delivery.Transaction // what the checks see (checks.go)
	cconn    *delivery.Conn        // the client as the checks see it
	// rcptErrors counts the session's refused recipients (errlimit.go).
	rcptErrors int
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
	_ smtp.LMTPSession = (*session)(nil)
)

func newSession(s *Server, c *smtp.Conn) *session {
	ctx, cancel := context.WithCancel(auth.WithProtocol(context.Background(), s.opts.Mode.String()))
	return &session{srv: s, conn: c, ip: netlimit.RemoteIP(c.Conn().RemoteAddr()), ctx: ctx, cancel: cancel}
}

var (
	// RFC 5321 §3.8 and §4.2.3: 421 while the service shuts down; RFC
	// 3463 §3.4: X.3.2, system not accepting network messages.
	errShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, try again later"}
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	// RFC 4954 §4: a mechanism is refused without encryption.
	errEncryptionRequired = &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11}, Message: "Encryption required for requested authentication mechanism"}
	// RFC 5321 §4.5.3.1.6 limits text lines; retrying will not help.
	errLineTooLong     = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 4, 0}, Message: "Line too long"}
	errTooManyFailures = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many failed attempts, try again later"}
	// RFC 3463 §3.2: X.1.7, bad sender's mailbox address syntax.
	errMalformedSender = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: "Malformed sender address"}
)

func (s *session) tlsActive() bool {
	_, ok := s.conn.TLSConnectionState()
	return ok
}

// authAllowed: over TLS, or from a configured plaintext network.
func (s *session) authAllowed() bool {
	if s.tlsActive() {
		return true
	}
	for _, p := range s.srv.opts.PlaintextNetworks {
		if s.ip.IsValid() && p.Contains(s.ip) {
			return true
		}
	}
	return false
}

// AuthMechanisms implements smtp.AuthSession: only submission offers AUTH,
// and only where it is allowed.
func (s *session) AuthMechanisms() []string {
	if s.srv.opts.Mode != Submission || s.srv.opts.Auth == nil || !s.authAllowed() {
		return nil
	}
	return auth.Mechanisms()
}

// Auth implements smtp.AuthSession.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.srv.opts.Mode != Submission || s.srv.opts.Auth == nil {
		return nil, smtp.ErrAuthUnsupported
	}
	if !s.authAllowed() {
		return nil, errEncryptionRequired
	}
	srv, err := s.srv.opts.Auth.SASL(s.ctx, mech, s.ip, func(a auth.Account) {
		s.account = &a
		netlimit.Authenticated(s.conn.Conn()) // no stress timeout from now on
		s.srv.log.Info("authenticated", "user", a.Address, "ip", s.ip)
	})
	if err != nil {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return saslReplies{srv}, nil
}

// saslReplies maps auth errors to SMTP replies (RFC 4954 §6), never telling
// whether the user exists.
type saslReplies struct{ sasl.Server }

func (r saslReplies) Next(resp []byte) ([]byte, bool, error) {
	ch, done, err := r.Server.Next(resp)
	switch {
	case err == nil:
		return ch, done, nil
	case errors.Is(err, auth.ErrTooManyFailures):
		return nil, false, errTooManyFailures
	default:
		return nil, false, smtp.ErrAuthFailed
	}
}

// Mail implements smtp.Session.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	return s.refused("MAIL", from, "", s.mail(from, opts))
}

func (s *session) mail(from string, opts *smtp.MailOptions) error {
	if s.srv.closing.Load() {
		return errShuttingDown
	}
	if s.srv.opts.Mode == Submission {
		if err := s.checkSubmitter(from); err != nil {
			return err
		}
	}
	if from != "" {
		if _, err := mail.ParseAddress(from); err != nil {
			return errMalformedSender
		}
	}
	if opts != nil && opts.Size > s.srv.opts.MaxMessageBytes { // RFC 1870 §6.3; go-smtp checks against one byte more
		return smtp.ErrDataTooLarge
	}
	if err := s.checkMail(from, opts); err != nil {
		return err
	}
	if err := s.srv.opts.Pipeline.CheckSpace(opts.Size); err != nil {
		return toSMTP(err)
	}
	s.from, s.opts = from, opts
	return nil
}

// Rcpt implements smtp.Session: unknown local users and foreign domains are
// refused here, before any data is sent; too many refusals slow the
// session down, then end it (errlimit.go).
func (s *session) Rcpt(to string, ro *smtp.RcptOptions) error {
	return s.limitErrors(s.refused("RCPT", s.from, to, s.rcpt(to, ro)))
}

func (s *session) rcpt(to string, ro *smtp.RcptOptions) error {
	if s.opts == nil {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Malformed recipient address"}
	}
	if addr.IsLiteral() {
		return toSMTP(mail.ErrAddressLiteral)
	}
	if err := s.srv.opts.Pipeline.CheckSpace(s.opts.Size); err != nil {
		return toSMTP(err) // the disk filled since MAIL
	}
	local, err := s.srv.opts.Pipeline.IsLocal(s.ctx, addr)
	if err != nil {
		return toSMTP(err)
	}
	if !local {
		if s.srv.opts.Mode != Submission {
			return toSMTP(mail.ErrRelayDenied)
		}
		route := delivery.Route{Recipient: to, Remote: []string{addr.String()}}
		rcptDSN(&route, ro)
		s.routes = append(s.routes, route)
		return nil
	}
	route, err := s.srv.opts.Pipeline.Resolve(s.ctx, addr)
	if err != nil {
		return toSMTP(err)
	}
	if route.Full(s.opts.Size) {
		return toSMTP(mail.ErrQuotaFull)
	}
	route.Recipient = to
	rcptDSN(&route, ro)
	if err := s.checkRcpt(route, ro); err != nil {
		return err
	}
	s.routes = append(s.routes, route)
	return nil
}

// Data implements smtp.Session.
func (s *session) Data(r io.Reader) error {
	defer s.transfer()()
	errs, err := s.deliver(r)
	if err != nil {
		return s.refused("DATA", s.from, "", toSMTP(err))
	}
	return toSMTP(dataReply(errs))
}

// transfer gives the message the whole smtp_timeout, also under stress
// (the deadline go-smtp set for the DATA command covers the whole
// message); the returned func ends that.
func (s *session) transfer() func() {
	nc := s.conn.Conn()
	if s.account != nil {
		return func() {}
	}
	netlimit.Exempt(nc, true)
	nc.SetReadDeadline(time.Now().Add(s.srv.opts.Timeout))
	return func() { netlimit.Exempt(nc, false) }
}

// dataReply folds the per-recipient results into SMTP's one reply: 250
// when all succeeded, the failure when all failed, and a temporary failure
// when only some did, so that no recipient is silently dropped after a 250
// (RFC 5321 §6.1: once it says 250, the server is responsible).
func dataReply(errs []error) error {
	failed := 0
	var first error
	for _, e := range errs {
		if e != nil {
			failed++
			if first == nil {
				first = e
			}
		}
	}
	switch {
	case failed == 0:
		return nil
	case failed == len(errs):
		return first
	}
	return mail.ErrPartial
}

// LMTPData implements smtp.LMTPSession: one reply per recipient (RFC 2033 §4.2).
func (s *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	defer s.transfer()()
	errs, err := s.deliver(r)
	if err != nil {
		return s.refused("DATA", s.from, "", toSMTP(err))
	}
	for i, rt := range s.routes {
		var e error
		if errs[i] != nil {
			e = toSMTP(errs[i])
		}
		status.SetStatus(rt.Recipient, e)
	}
	return nil
}

func (s *session) deliver(r io.Reader) ([]error, error) {
	if len(s.routes) == 0 {
		return nil, &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "RCPT first"}
	}
	p := s.srv.opts.Pipeline
	id := queueID() // the transaction's: Received's "id", and every log line of this message
	hdr := s.receivedHeader(id)
	// RFC 8601 §5: results claiming to be ours are removed from what the
	// client sent; ours are added after the checks.
	body := delivery.StripAuthResults(&limitedData{r: r, left: s.srv.opts.MaxMessageBytes}, s.srv.opts.Hostname)
	msg, err := p.Receive(s.ctx, io.MultiReader(strings.NewReader(hdr), body))
	if err != nil {
		return nil, err
	}
	sign := false
	if s.srv.opts.Mode == Submission {
		if sign, err = s.checkFromHeader(msg); err != nil {
			p.Discard(msg)
			return nil, err
		}
	}
	if err := s.checkData(msg); err != nil {
		p.Discard(msg)
		return nil, err
	}
	env := delivery.Envelope{ID: id, From: s.from, Routes: s.routes, Sign: sign, PerRecipient: s.srv.opts.Mode == LMTP}
	if s.opts != nil {
		s.mailParams(&env)
	}
	s.verdictInto(&env)
	errs := p.Deliver(s.ctx, env, msg)
	s.logReceived(id, msg, errs)
	if !slices.Contains(errs, nil) {
		p.Discard(msg)
	}
	return errs, nil
}

// limitedData is a message body refused past left bytes: the size limit,
// inclusive, for DATA and BDAT alike (see New).
type limitedData struct {
	r    io.Reader
	left int64
}

func (l *limitedData) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.left -= int64(n); l.left < 0 {
		return 0, smtp.ErrDataTooLarge
	}
	return n, err
}

// refused logs a refusal at stage (MAIL, RCPT, DATA) at info, with the
// client, sender, recipient and reply, and returns err.
func (s *session) refused(stage, from, to string, err error) error {
	if err != nil {
		s.srv.log.Info("refused", "stage", stage, "ip", s.ip, "from", from, "to", to, "reply", replyLine(err))
	}
	return err
}

// replyLine is err as the client reads it: "550 5.1.1 No such user here".
func replyLine(err error) string {
	var se *smtp.SMTPError
	if !errors.As(toSMTP(err), &se) {
		return err.Error()
	}
	if se.EnhancedCode == (smtp.EnhancedCode{}) || se.EnhancedCode == smtp.NoEnhancedCode {
		return fmt.Sprintf("%d %s", se.Code, se.Message)
	}
	return fmt.Sprintf("%d %d.%d.%d %s", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
}

// logReceived writes the line of a message received: the transaction ID
// its delivery and relay lines share, the client, sender, recipients,
// size, Message-ID, and the recipients refused after DATA.
func (s *session) logReceived(id string, msg delivery.Received, errs []error) {
	var to, refused []string
	for i, r := range s.routes {
		to = append(to, r.Recipient)
		if errs[i] != nil {
			refused = append(refused, r.Recipient+": "+mail.AsError(errs[i]).Error())
		}
	}
	mid := ""
	if msg.Parsed != nil {
		mid = msg.Parsed.MessageID
	}
	s.srv.log.Info("received", "id", id, "ip", s.ip, "from", s.from, "to", to, "size", msg.Size, "message_id", mid, "refused", refused)
}

// Reset implements smtp.Session.
func (s *session) Reset() {
	s.from, s.opts, s.routes, s.tx = "", nil, nil, nil
}

// Logout implements smtp.Session.
func (s *session) Logout() error {
	s.cancel()
	return nil
}

// toSMTP turns a mail.Error (or any error) into the reply go-smtp writes.
func toSMTP(err error) error {
	if err == nil {
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, smtp.ErrTooLongLine) {
		return errLineTooLong
	}
	me := mail.AsError(err)
	return &smtp.SMTPError{Code: me.Code, EnhancedCode: smtp.EnhancedCode(me.Enhanced), Message: me.Message}
}
