package imapd

import (
	"strings"
	"time"
)

// idleCmd: IDLE, RFC 9051 §6.3.13 (RFC 2177). A goroutine reads the
// client's DONE while this one waits for store wake-ups and sends the
// selected mailbox's changes as they become durable, expunges included.
// The autologout timer runs as for any command.
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
	type lineResult struct {
		line string
		err  error
	}
	done := make(chan lineResult, 1)
	s.conn.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	if !s.setIdle(true) {
		s.conn.SetReadDeadline(time.Now())
	}
	defer s.setIdle(false)
	go func() {
		defer func() { // a panic here must end this session only
			if r := recover(); r != nil {
				s.log.Error("imap idle reader panic", "panic", r)
				done <- lineResult{err: errConnBroken}
			}
		}()
		l, err := s.dec.Line()
		done <- lineResult{l, err}
	}()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				return r.err
			}
			if !strings.EqualFold(r.line, "DONE") {
				return bad("Expected DONE")
			}
			return nil
		case id := <-s.wake:
			if s.sel == nil || id != s.sel.mb.ID {
				continue
			}
			s.sel.dirty = true
			if err := s.refresh(true); err != nil {
				s.log.Warn("imap idle update", "err", err)
			}
			if err := s.enc.Flush(); err != nil || s.loggedOut {
				s.conn.SetReadDeadline(time.Now())
				<-done
				return errConnBroken
			}
		}
	}
}
