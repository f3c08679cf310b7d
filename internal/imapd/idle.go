package imapd

import (
	"strings"
	"time"
)

// idleCmd: IDLE, RFC 9051 §6.3.13 (RFC 2177). While it waits for the
// client's DONE, it sends the selected mailbox's changes as they become
// durable, expunges included, or with NOTIFY on, the events the client
// asked for (RFC 5465 §4). The autologout timer runs as for any command.
func (s *session) idleCmd(c *cmd) error {
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	if err := s.refresh(true); err != nil {
		return err
	}
	s.enc.Raw("+ idling\r\n")
	if err := s.enc.Flush(); err != nil {
		return err
	}
	s.conn.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	if !s.setIdle(true) {
		s.conn.SetReadDeadline(time.Now())
	}
	defer s.setIdle(false)
	if err := s.waitInput(s.idleWake); err != nil {
		return err
	}
	l, err := s.dec.Line()
	if err != nil {
		return err
	}
	if !strings.EqualFold(l, "DONE") {
		return bad("Expected DONE")
	}
	return nil
}

// idleWake reports what a store wake-up announces during IDLE.
func (s *session) idleWake(id int64) {
	if s.notif != nil {
		s.notifyWake(id, true)
		return
	}
	s.woken(id)
	if s.sel == nil || !s.sel.dirty {
		return
	}
	if err := s.refresh(true); err != nil {
		s.log.Warn("imap idle update", "err", err)
	}
}

// waitInput waits until the client's next bytes arrive, passing each
// store wake-up to onWake meanwhile, reporting other sessions' key
// resets (urlauth.go), and sending what it wrote. A goroutine waits on
// the socket (it reads nothing); this one alone writes, so responses
// never interleave. It returns the read error, if any, or errConnBroken
// when a write failed or the session must end.
func (s *session) waitInput(onWake func(id int64)) error {
	ready := make(chan error, 1)
	go func() {
		defer func() { // a panic here must end this session only
			if r := recover(); r != nil {
				s.log.Error("imap input wait panic", "panic", r)
				ready <- errConnBroken
			}
		}()
		ready <- s.dec.Ready()
	}()
	for {
		select {
		case err := <-ready:
			return err
		case id := <-s.wake:
			onWake(id)
		case <-s.resets.ready:
			s.reportKeyResets()
		}
		s.conn.SetWriteDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
		if err := s.enc.Flush(); err != nil || s.loggedOut {
			s.conn.SetReadDeadline(time.Now())
			<-ready
			return errConnBroken
		}
	}
}
