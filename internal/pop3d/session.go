package pop3d

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/connsrv"
	"facteur.dev/facteur/internal/netlimit"
	"facteur.dev/facteur/internal/store"
)

// state is a POP3 session state (RFC 1939 §3). UPDATE is not a resting
// state: QUIT in TRANSACTION runs it and ends the session.
type state int

const (
	stateAuthorization state = 1 << iota
	stateTransaction
)

// Response codes (RFC 2449 §8, RFC 3206).
const (
	codeInUse   = "[IN-USE] "
	codeAuth    = "[AUTH] "
	codeSysTemp = "[SYS/TEMP] "
)

// errQuit ends a session after its reply.
var errQuit = errors.New("pop3d: quit")

// errLineTooLong is returned by readLine for a line over MaxLineLength; the
// rest of the line has been discarded.
var errLineTooLong = errors.New("pop3d: line too long")

// session is one connection's state.
type session struct {
	srv    *Server
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	ip     netip.Addr
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger

	state   state
	tls     bool
	utf8    bool               // RFC 6856 UTF8 command issued
	strikes connsrv.Strikes    // invalid commands in a row
	user    string             // USER argument, until PASS
	drop    *maildrop          // TRANSACTION state only
	ahead   map[int]store.Blob // blobs opened for pipelined RETRs, by message index
	// unregister removes the session from Options.Sessions.
	unregister func()
}

func newSession(s *Server, c net.Conn) *session {
	ctx, cancel := context.WithCancel(auth.WithProtocol(context.Background(), "pop3"))
	ip := netlimit.RemoteIP(c.RemoteAddr())
	_, isTLS := c.(*tls.Conn)
	return &session{srv: s, conn: c, r: bufio.NewReader(c), w: bufio.NewWriterSize(c, 16<<10),
		ip: ip, ctx: ctx, cancel: cancel, log: s.log.With("ip", ip),
		state: stateAuthorization, tls: isTLS}
}

// serve runs the session until QUIT, an error or the idle timeout. Marks
// are dropped unless QUIT committed them (RFC 1939 §6).
func (s *session) serve() {
	defer s.conn.Close()
	defer s.cancel()
	defer s.release()
	defer connsrv.Recover(s.log, s, func() { // one bad session never ends the process
		s.reply("-ERR [SYS/PERM] Internal error") // RFC 3206 §4
		s.w.Flush()
	})
	// Bounds an implicit TLS handshake too (by the login timeout).
	s.conn.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	// RFC 1939 §4: greeting. No APOP timestamp: APOP is not offered.
	s.reply("+OK %s POP3 server ready", s.srv.opts.Hostname)
	for {
		if err := s.flushIfIdle(); err != nil {
			return
		}
		if !s.setIdle(true) {
			return
		}
		line, err := s.readLine()
		s.setIdle(false)
		switch {
		case errors.Is(err, errLineTooLong):
			err = s.invalid("-ERR Line too long")
		case err != nil:
			return
		default:
			err = s.dispatch(line)
		}
		if err != nil {
			if !errors.Is(err, errQuit) {
				s.log.Debug("session ended", "err", err)
			}
			s.w.Flush()
			return
		}
	}
}

// setIdle records whether the session waits for a command; it returns
// false when the server is shutting down and the session should end.
func (s *session) setIdle(idle bool) bool { return s.srv.conns.SetIdle(s, idle) }

// Serve, Interrupt and Close make the session a connsrv.Conn; a session
// interrupted while it waits for a command is closed.
func (s *session) Serve()       { s.serve() }
func (s *session) Interrupt()   { s.conn.Close() }
func (s *session) Close() error { return s.conn.Close() }

// flushIfIdle sends buffered replies unless more pipelined commands are
// already waiting (RFC 2449 §6.6): one write per batch of commands.
func (s *session) flushIfIdle() error {
	if s.r.Buffered() > 0 {
		return nil
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	return s.w.Flush()
}

// readLine reads one CRLF- (or LF-) terminated line without its ending,
// within the idle timeout (RFC 1939 §3).
func (s *session) readLine() (string, error) {
	if s.r.Buffered() == 0 {
		s.conn.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	}
	var buf []byte
	tooLong := false
	for {
		chunk, err := s.r.ReadSlice('\n')
		if !tooLong {
			buf = append(buf, chunk...)
			if len(buf) > s.srv.opts.MaxLineLength {
				tooLong, buf = true, nil
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return "", err
		case tooLong:
			return "", errLineTooLong
		}
		return string(bytes.TrimRight(buf, "\r\n")), nil
	}
}

// reply buffers one response line; flushIfIdle sends it.
func (s *session) reply(format string, args ...any) {
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

// command is a handler and the states it is valid in.
type command struct {
	states state
	fn     func(s *session, arg string) error
}

// commands maps keywords (RFC 1939 §3: case-insensitive) to handlers.
var commands map[string]command

func init() {
	both := stateAuthorization | stateTransaction
	commands = map[string]command{
		"CAPA": {both, (*session).capa},
		"QUIT": {both, (*session).quit},
		"NOOP": {stateTransaction, (*session).noop},
		"USER": {stateAuthorization, (*session).userCmd},
		"PASS": {stateAuthorization, (*session).pass},
		"AUTH": {stateAuthorization, (*session).authCmd},
		"STLS": {stateAuthorization, (*session).stls},
		"UTF8": {stateAuthorization, (*session).utf8Cmd},
		"STAT": {stateTransaction, (*session).stat},
		"LIST": {stateTransaction, (*session).list},
		"UIDL": {stateTransaction, (*session).uidl},
		"RETR": {stateTransaction, (*session).retr},
		"TOP":  {stateTransaction, (*session).top},
		"DELE": {stateTransaction, (*session).dele},
		"RSET": {stateTransaction, (*session).rset},
	}
}

// dispatch runs one command line. An error ends the session.
func (s *session) dispatch(line string) error {
	keyword, arg, _ := strings.Cut(line, " ")
	cmd, ok := commands[strings.ToUpper(keyword)]
	switch {
	case !ok:
		return s.invalid("-ERR Unknown command")
	case cmd.states&s.state == 0:
		return s.invalid("-ERR Command not valid in this state")
	}
	s.strikes.Good()
	return cmd.fn(s, arg)
}

// errTooManyInvalid ends a session that sent connsrv.MaxStrikes invalid
// commands in a row.
var errTooManyInvalid = errors.New("too many invalid commands")

// invalid answers an invalid command with reply; past the limit it ends
// the session, as Dovecot does ("-ERR Too many bad commands").
func (s *session) invalid(reply string) error {
	s.reply("%s", reply)
	if !s.strikes.Bad() {
		return nil
	}
	s.reply("-ERR Too many invalid commands, closing")
	return errTooManyInvalid
}

// quit: RFC 1939 §4 in AUTHORIZATION, §6 (the UPDATE state) in TRANSACTION.
func (s *session) quit(string) error {
	if s.state == stateTransaction {
		err := s.drop.update(s.ctx)
		// Unlock before replying: a client that reconnects as soon as it
		// reads the reply must find the maildrop free.
		s.release()
		if err != nil {
			s.log.Warn("pop3 update failed", "err", err)
			s.reply("-ERR %sSome deleted messages not removed", codeSysTemp)
			return errQuit
		}
	}
	s.reply("+OK %s POP3 server signing off", s.srv.opts.Hostname)
	return errQuit
}

// noop: RFC 1939 §5.
func (s *session) noop(string) error {
	s.reply("+OK")
	return nil
}

// release unlocks the maildrop when the session ends, whatever the reason.
func (s *session) release() {
	s.closeAhead()
	if s.drop != nil {
		s.drop.close()
		s.drop = nil
	}
	if s.unregister != nil {
		s.unregister()
		s.unregister = nil
	}
}

// multiline writes a multi-line response's lines and its terminator
// (RFC 1939 §3). The lines are generated here and never start with ".".
func (s *session) multiline(lines []string) {
	for _, l := range lines {
		s.w.WriteString(l)
		s.w.WriteString("\r\n")
	}
	s.w.WriteString(".\r\n")
}
