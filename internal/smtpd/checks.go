package smtpd

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-smtp"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
)

// This file calls the inbound checks (delivery.Checks) at each SMTP stage:
// connect (gate.go, before the banner), HELO (NewSession), MAIL, RCPT and
// the end of DATA.

// checkConn describes the session's client for the checks: the Conn the
// connect checks saw (with their results), brought up to date.
func (s *session) checkConn() *delivery.Conn {
	if s.cconn == nil {
		nc := s.conn.Conn()
		if tc, ok := nc.(*tls.Conn); ok { // after STARTTLS, a new session
			nc = tc.NetConn()
		}
		if cc, ok := nc.(*checkedConn); ok && cc.conn != nil {
			s.cconn = cc.conn
		} else {
			s.cconn = &delivery.Conn{Listener: s.srv.opts.Mode.String(), IP: s.ip, Trusted: inAny(s.srv.opts.Trusted, s.ip)}
		}
	}
	c := s.cconn
	c.Helo = s.conn.Hostname()
	if st, ok := s.conn.TLSConnectionState(); ok {
		c.TLS = &st
	}
	if s.account != nil {
		c.AuthUser = s.account.Address
	}
	return c
}

// checkHelo runs the HELO checks when the session starts (go-smtp makes
// the session at the first EHLO/HELO).
func (s *session) checkHelo() error {
	if s.srv.opts.Checks == nil {
		return nil
	}
	return replyErr(s.srv.opts.Checks.Helo(s.ctx, s.checkConn()))
}

// checkMail starts the transaction the checks see and runs the MAIL
// checks.
func (s *session) checkMail(from string, opts *smtp.MailOptions) error {
	s.tx = delivery.NewTransaction(s.checkConn(), from, mailParamMap(opts))
	return replyErr(s.srv.opts.Checks.Mail(s.ctx, s.tx))
}

// checkRcpt runs the RCPT checks for an accepted route.
func (s *session) checkRcpt(route delivery.Route, ro *smtp.RcptOptions) error {
	r := &delivery.Recipient{Address: route.Recipient, Params: rcptParamMap(ro), Route: route}
	if err := replyErr(s.srv.opts.Checks.Rcpt(s.ctx, s.tx, r)); err != nil {
		return err
	}
	s.tx.Rcpts = append(s.tx.Rcpts, r)
	return nil
}

// checkData runs the end-of-DATA checks over the received message.
func (s *session) checkData(msg delivery.Received) error {
	p := s.srv.opts.Pipeline
	return replyErr(s.srv.opts.Checks.Data(s.ctx, s.tx, p.NewMessage(msg)))
}

// replyErr turns a check's reply into go-smtp's error, keeping nil nil.
func replyErr(e *mail.Error) error {
	if e == nil {
		return nil
	}
	return toSMTP(e)
}

func mailParamMap(o *smtp.MailOptions) map[string]string {
	m := map[string]string{}
	if o == nil {
		return m
	}
	if o.Size > 0 {
		m["SIZE"] = fmt.Sprint(o.Size)
	}
	if o.Body != "" {
		m["BODY"] = string(o.Body)
	}
	if o.UTF8 {
		m["SMTPUTF8"] = ""
	}
	if o.RequireTLS {
		m["REQUIRETLS"] = ""
	}
	if o.Return != "" {
		m["RET"] = string(o.Return)
	}
	if o.EnvelopeID != "" {
		m["ENVID"] = o.EnvelopeID
	}
	if o.Auth != nil {
		m["AUTH"] = *o.Auth
	}
	return m
}

func rcptParamMap(o *smtp.RcptOptions) map[string]string {
	m := map[string]string{}
	if o == nil {
		return m
	}
	if len(o.Notify) > 0 {
		n := make([]string, len(o.Notify))
		for i, v := range o.Notify {
			n[i] = string(v)
		}
		m["NOTIFY"] = strings.Join(n, ",")
	}
	if o.OriginalRecipient != "" {
		m["ORCPT"] = string(o.OriginalRecipientType) + ";" + o.OriginalRecipient
	}
	return m
}

// verdictInto puts what the checks decided into the envelope: their
// Authentication-Results and other header fields before every local copy
// (RFC 8601 §5: a border MTA adds its results at the top), the folder
// (Junk for a DMARC quarantine), and the results themselves for the
// per-recipient filters (the sender lists match authenticated domains).
func (s *session) verdictInto(env *delivery.Envelope) {
	if s.tx == nil || s.srv.opts.Checks == nil {
		return
	}
	var b strings.Builder
	if ar := s.srv.opts.Checks.AuthenticationResults(s.tx); ar != "" {
		b.WriteString(ar + "\r\n")
	}
	for _, h := range s.tx.Headers {
		b.WriteString(h + "\r\n")
	}
	env.Headers, env.Mailbox = b.String(), s.tx.Folder
	env.Results = slices.Clone(s.tx.Results)
}
