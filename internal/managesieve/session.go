package managesieve

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/connsrv"
	"facteur.dev/facteur/internal/netlimit"
	"facteur.dev/facteur/internal/store"
)

// errLogout ends a session after its reply.
var errLogout = errors.New("managesieve: logout")

// session is one connection's state.
type session struct {
	srv    *Server
	conn   net.Conn
	w      *bufio.Writer
	p      parser
	ip     netip.Addr
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger

	tls      bool
	account  *store.Account  // nil until AUTHENTICATE succeeds
	commands int             // commands read before authentication
	strikes  connsrv.Strikes // invalid commands in a row
	// unregister removes the session from Options.Sessions (auth.go).
	unregister func()
}

func newSession(s *Server, c net.Conn) *session {
	ctx, cancel := context.WithCancel(auth.WithProtocol(context.Background(), "managesieve"))
	ip := netlimit.RemoteIP(c.RemoteAddr())
	ss := &session{srv: s, conn: c, w: bufio.NewWriterSize(c, 16<<10),
		ip: ip, ctx: ctx, cancel: cancel, log: s.log.With("ip", ip)}
	ss.p = parser{r: bufio.NewReader(c), maxLine: s.opts.MaxLineLength, maxLiteral: s.opts.MaxScriptSize,
		onSync: ss.continuation}
	return ss
}

// Serve, Interrupt and Close make the session a connsrv.Conn; a session
// interrupted while it waits for a command is closed.
func (s *session) Serve()       { s.serve() }
func (s *session) Interrupt()   { s.conn.Close() }
func (s *session) Close() error { return s.conn.Close() }

// serve runs the session until LOGOUT, an error or the idle timeout.
func (s *session) serve() {
	defer s.conn.Close()
	defer s.cancel()
	defer s.loggedOut()
	defer connsrv.Recover(s.log, s, func() { // one bad session never ends the process
		s.respond("BYE", "", "Internal error")
		s.w.Flush()
	})
	s.capabilities() // RFC 5804 §1.7: the greeting is the capability list
	s.respond("OK", "", "Facteur ManageSieve ready")
	for {
		if err := s.flushIfIdle(); err != nil {
			return
		}
		if !s.srv.conns.SetIdle(s, true) {
			return
		}
		s.conn.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
		name, args, err := s.p.command()
		s.srv.conns.SetIdle(s, false)
		if err = s.handle(name, args, err); err != nil {
			if !errors.Is(err, errLogout) {
				s.log.Debug("session ended", "err", err)
			}
			s.w.Flush()
			return
		}
	}
}

// handle answers a command or the error reading it; an error it returns
// ends the session.
func (s *session) handle(name string, args []arg, err error) error {
	if _, known := commands[name]; err != nil || !known {
		if s.strikes.Bad() { // as IMAP and POP3: garbage ends the session (connsrv.Strikes)
			s.respond("BYE", "", "Too many invalid commands")
			return errors.New("managesieve: too many invalid commands")
		}
	} else {
		s.strikes.Good()
	}
	if err == nil {
		if err = s.countUnauth(); err != nil {
			return err
		}
		err = s.dispatch(name, args)
	} else if _, ok := err.(*commandError); ok {
		if err := s.countUnauth(); err != nil {
			return err
		}
	}
	var ce *commandError
	var fe *fatalError
	switch {
	case errors.As(err, &ce):
		s.respond("NO", ce.code, ce.msg)
		return nil
	case errors.As(err, &fe):
		s.respond("BYE", "", fe.msg)
	}
	return err
}

// countUnauth ends a session that sends too many commands without
// logging in.
func (s *session) countUnauth() error {
	if s.account != nil {
		return nil
	}
	if s.commands++; s.commands > s.srv.opts.MaxUnauthCommands {
		s.respond("BYE", "", "Too many commands without authentication")
		return errors.New("managesieve: too many commands before authentication")
	}
	return nil
}

// flushIfIdle sends buffered replies unless more pipelined commands are
// already waiting: one write per batch of commands.
func (s *session) flushIfIdle() error {
	if s.p.r.Buffered() > 0 {
		return nil
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	return s.w.Flush()
}

// respond writes an OK, NO or BYE response (RFC 5804 §1.2): the code,
// when there is one, in parentheses, then the human-readable text.
func (s *session) respond(kind, code, text string) {
	s.w.WriteString(kind)
	if code != "" {
		s.w.WriteString(" (" + code + ")")
	}
	if text != "" {
		s.w.WriteString(" " + quote(text))
	}
	s.w.WriteString("\r\n")
}

// continuation invites a synchronizing literal's octets; it is IMAP's
// form, which is what clients that send {N} wait for.
func (s *session) continuation() error {
	s.w.WriteString("+ \"Ready for literal data\"\r\n")
	return s.w.Flush()
}

// command is a handler and whether it needs a logged-in session (true),
// a not logged-in one (false) or either (nil).
type command struct {
	authed *bool
	fn     func(s *session, args []arg) error
}

var commands map[string]command

func init() {
	yes, no := new(bool), new(bool)
	*yes = true
	commands = map[string]command{
		"CAPABILITY":     {nil, (*session).capability},
		"LOGOUT":         {nil, (*session).logout},
		"NOOP":           {nil, (*session).noop},
		"STARTTLS":       {no, (*session).starttls},
		"AUTHENTICATE":   {no, (*session).authenticate},
		"UNAUTHENTICATE": {yes, (*session).unauthenticate},
		"HAVESPACE":      {yes, (*session).haveSpace},
		"PUTSCRIPT":      {yes, (*session).putScript},
		"CHECKSCRIPT":    {yes, (*session).checkScript},
		"LISTSCRIPTS":    {yes, (*session).listScripts},
		"SETACTIVE":      {yes, (*session).setActive},
		"GETSCRIPT":      {yes, (*session).getScript},
		"DELETESCRIPT":   {yes, (*session).deleteScript},
		"RENAMESCRIPT":   {yes, (*session).renameScript},
	}
}

// dispatch runs one command.
func (s *session) dispatch(name string, args []arg) error {
	cmd, ok := commands[name]
	switch {
	case !ok:
		return refuse("", "Unknown command %s", name)
	case cmd.authed != nil && *cmd.authed && s.account == nil:
		return refuse("", "Authenticate first")
	case cmd.authed != nil && !*cmd.authed && s.account != nil:
		return refuse("", "Already authenticated")
	}
	return cmd.fn(s, args)
}

// stringArgs checks that args are n strings (not atoms) and returns them.
func stringArgs(name string, args []arg, n int) ([]string, error) {
	if len(args) != n {
		return nil, refuse("", "%s takes %d arguments", name, n)
	}
	out := make([]string, n)
	for i, a := range args {
		if a.atom {
			return nil, refuse("", "%s: argument %d must be a string", name, i+1)
		}
		out[i] = a.s
	}
	return out, nil
}
