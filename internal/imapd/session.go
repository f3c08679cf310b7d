package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/connsrv"
	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/netlimit"
	"facteur.dev/facteur/internal/store"
)

// state is a session state (RFC 9051 §3). Logout is not a resting state:
// LOGOUT ends the session.
type state int

const (
	stateNotAuth state = 1 << iota
	stateAuth
	stateSelected
)

// session is one connection.
type session struct {
	srv    *Server
	conn   net.Conn
	dec    *imapwire.Decoder
	enc    *imapwire.Encoder
	ip     netip.Addr
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger

	state      state
	tls        bool
	compressed bool // COMPRESS DEFLATE is on (RFC 4978)
	loggedOut  bool
	strikes    connsrv.Strikes // BAD responses in a row

	acct auth.Account
	// unregister removes the session from Options.Sessions (login.go).
	unregister func()
	wake       <-chan int64 // store.Watch wake-ups for the account
	stopWatch  func()
	resets     *keyResets // other sessions' RESETKEYs to report (urlauth.go)

	// Extensions the client turned on (RFC 5161 ENABLE; CONDSTORE also by
	// its first use, RFC 7162 §3.1).
	rev2, condstore, qresync, utf8 bool

	sel   *view         // the selected mailbox
	saved []uint32      // SEARCH ... SAVE result, UIDs (RFC 5182)
	live  *liveSearches // SEARCH and SORT with RETURN (UPDATE) (RFC 5267, context.go)
	notif *notifier     // NOTIFY SET is on (RFC 5465, notify.go)
}

func newSession(s *Server, c net.Conn) *session {
	ctx, cancel := context.WithCancel(auth.WithProtocol(context.Background(), "imap"))
	ip := netlimit.RemoteIP(c.RemoteAddr())
	_, isTLS := c.(*tls.Conn)
	sess := &session{srv: s, ctx: ctx, cancel: cancel, ip: ip, log: s.log.With("ip", ip),
		state: stateNotAuth, tls: isTLS, resets: newKeyResets()}
	sess.setConn(c)
	return sess
}

// setConn (re)starts the decoder and encoder on c: after STARTTLS nothing
// the client sent before the handshake is kept (RFC 9051 §6.2.1).
func (s *session) setConn(c net.Conn) {
	s.conn = c
	s.dec = imapwire.NewDecoder(c, s.continuation, s.srv.opts.Limits)
	s.enc = imapwire.NewEncoder(c)
	s.enc.UTF8 = s.utf8Mode()
}

// continuation sends the continuation request of a synchronizing literal.
func (s *session) continuation() error {
	s.enc.Raw("+ Ready for literal data\r\n")
	return s.enc.Flush()
}

// utf8Mode: quoted strings and mailbox names may be UTF-8 (RFC 9051 §4.3
// for IMAP4rev2, RFC 6855 for UTF8=ACCEPT).
func (s *session) utf8Mode() bool { return s.rev2 || s.utf8 }

// serve runs the session until LOGOUT, an error, the autologout timer or
// a shutdown. A panic ends this session only.
func (s *session) serve() {
	defer s.conn.Close()
	defer s.cancel()
	defer s.release()
	defer connsrv.Recover(s.log, s, func() {
		s.enc.Raw("* BYE [SERVERBUG] Internal error\r\n")
		s.enc.Flush()
	})
	// Bounds an implicit TLS handshake too (by the login timeout).
	s.conn.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	// RFC 9051 §7.1.1: greeting with the capabilities.
	s.enc.Raw("* OK [CAPABILITY " + s.capabilities() + "] " + s.srv.opts.Hostname + " Facteur IMAP ready\r\n")
	for !s.loggedOut {
		if err := s.flushIfIdle(); err != nil || s.enc.Err() != nil {
			return
		}
		if !s.setIdle(true) {
			s.bye("Server shutting down")
			return
		}
		s.conn.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
		if !s.awaitCommand() { // NOTIFY reports changes meanwhile (notify.go)
			return
		}
		tag, err := s.dec.Tag()
		s.setIdle(false)
		if err != nil && !s.badTag(tag, err) {
			return
		}
		if err == nil {
			s.command(tag)
		}
	}
	s.enc.Flush()
}

// badTag handles an error reading a tag; it returns false when the session
// must end.
func (s *session) badTag(tag string, err error) bool {
	if imapwire.IsFatal(err) {
		s.fatal(err)
		return false
	}
	if tag == "" {
		tag = "*"
	}
	s.enc.Raw(tag + " BAD Invalid tag or command\r\n")
	if s.strike("BAD") {
		return false
	}
	return s.dec.DiscardLine() == nil
}

// strike counts a BAD response; past connsrv.MaxStrikes in a row it says
// BYE (RFC 9051 §7.1.5) and reports that the session must end.
func (s *session) strike(status string) bool {
	if status != "BAD" {
		s.strikes.Good()
		return false
	}
	if !s.strikes.Bad() {
		return false
	}
	s.bye("Too many invalid commands")
	s.loggedOut = true
	return true
}

// fatal ends a session after an I/O error, the autologout timer, a
// shutdown or input that cannot be resynchronised.
func (s *session) fatal(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
	case s.srv.conns.Closing():
		s.bye("Server shutting down")
	case errors.As(err, &ne) && ne.Timeout():
		s.bye("Autologout; idle for too long") // RFC 9051 §5.4
	case errors.Is(err, imapwire.ErrFatal):
		s.bye("Protocol error: " + err.Error())
	default:
		s.log.Debug("imap session ended", "err", err)
	}
}

func (s *session) bye(text string) {
	s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	s.enc.Raw("* BYE " + text + "\r\n")
	s.enc.Flush()
}

// setIdle records whether the session waits for the client; it returns
// false when the server is shutting down and the session should end.
func (s *session) setIdle(idle bool) bool { return s.srv.conns.SetIdle(s, idle) }

// Serve, Interrupt and Close make the session a connsrv.Conn.
func (s *session) Serve() { s.serve() }

// Interrupt ends the wait for the client's next command or DONE: the
// read fails at once and the session says BYE.
func (s *session) Interrupt() { s.conn.SetReadDeadline(time.Now()) }

func (s *session) Close() error { return s.conn.Close() }

// flushIfIdle sends buffered responses unless more pipelined commands are
// already waiting: one write per batch of commands.
func (s *session) flushIfIdle() error {
	if s.dec.Buffered() > 0 {
		return nil
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	return s.enc.Flush()
}

// release frees what a logged-in session holds.
func (s *session) release() {
	if s.stopWatch != nil {
		s.stopWatch()
		s.stopWatch = nil
		s.srv.opts.Shared.release(s.acct.ID, s.resets)
	}
	if s.unregister != nil {
		s.unregister()
		s.unregister = nil
	}
	s.sel = nil
}

// cmd is the command being run.
type cmd struct {
	tag  string
	name string // upper case, "UID FETCH" for the UID forms
	uid  bool
}

// handler runs a command: it reads the arguments and the CRLF with s.dec,
// does the work and writes untagged responses; the session writes the
// tagged response from what it returns (nil: OK).
type handler struct {
	states state
	fn     func(s *session, c *cmd) error
	// byNumber: a command during which EXPUNGE must not be sent unless it
	// is the UID form (RFC 9051 §7.5.1: FETCH, STORE, SEARCH).
	byNumber bool
}

// commands maps command names to handlers. It is filled by init
// functions (this file's, and those of files that add commands, such as
// sort.go), so it is made before any of them runs.
var commands = map[string]handler{}

func init() {
	any := stateNotAuth | stateAuth | stateSelected
	auth := stateAuth | stateSelected
	sel := stateSelected
	maps.Copy(commands, map[string]handler{
		"CAPABILITY":   {any, (*session).capability, false},
		"NOOP":         {any, (*session).noop, false},
		"LOGOUT":       {any, (*session).logout, false},
		"ID":           {any, (*session).id, false},
		"STARTTLS":     {stateNotAuth, (*session).starttls, false},
		"LOGIN":        {stateNotAuth, (*session).login, false},
		"AUTHENTICATE": {stateNotAuth, (*session).authenticate, false},
		"ENABLE":       {stateAuth, (*session).enable, false},
		"NAMESPACE":    {auth, (*session).namespace, false},
		"SELECT":       {auth, (*session).selectCmd, false},
		"EXAMINE":      {auth, (*session).selectCmd, false},
		"CREATE":       {auth, (*session).create, false},
		"DELETE":       {auth, (*session).deleteCmd, false},
		"RENAME":       {auth, (*session).rename, false},
		"SUBSCRIBE":    {auth, (*session).subscribe, false},
		"UNSUBSCRIBE":  {auth, (*session).subscribe, false},
		"LIST":         {auth, (*session).list, false},
		"LSUB":         {auth, (*session).list, false},
		"STATUS":       {auth, (*session).status, false},
		"APPEND":       {auth, (*session).appendCmd, false},
		"IDLE":         {auth, (*session).idleCmd, false},
		"NOTIFY":       {auth, (*session).notifyCmd, false},
		"CHECK":        {sel, (*session).noop, false},
		"CLOSE":        {sel, (*session).closeCmd, false},
		"UNSELECT":     {sel, (*session).closeCmd, false},
		"EXPUNGE":      {sel, (*session).expunge, false},
		"UID EXPUNGE":  {sel, (*session).expunge, false},
		"FETCH":        {sel, (*session).fetchCmd, true},
		"UID FETCH":    {sel, (*session).fetchCmd, true},
		"STORE":        {sel, (*session).storeCmd, true},
		"UID STORE":    {sel, (*session).storeCmd, true},
		"SEARCH":       {sel, (*session).search, true},
		"UID SEARCH":   {sel, (*session).search, true},
		"COPY":         {sel, (*session).copyCmd, false},
		"UID COPY":     {sel, (*session).copyCmd, false},
		"MOVE":         {sel, (*session).copyCmd, false},
		"UID MOVE":     {sel, (*session).copyCmd, false},
	})
}

// command reads a command name and runs it (RFC 9051 §2.2.1).
func (s *session) command(tag string) {
	c := &cmd{tag: tag}
	name, err := s.dec.Atom()
	if err == nil {
		c.name = strings.ToUpper(name)
		if c.name == "UID" {
			c.uid = true
			if err = s.dec.SP(); err == nil {
				name, err = s.dec.Atom()
				c.name = "UID " + strings.ToUpper(name)
			}
		}
	}
	h, ok := commands[c.name]
	switch {
	case err != nil:
	case !ok:
		err = bad("Unknown command %s", c.name)
	case h.states&s.state == 0:
		err = bad("%s is not valid in this state", c.name)
	default:
		err = h.fn(s, c)
	}
	s.finish(c, h, err)
}

// finish writes the pending updates and the tagged response.
func (s *session) finish(c *cmd, h handler, err error) {
	var r *response
	switch {
	case errors.Is(err, errHandled):
		return
	case err == nil:
		r = &response{status: "OK", text: c.name + " completed"}
	case errors.As(err, &r):
	case isConnErr(err) || s.enc.Err() != nil:
		s.fatal(err)
		s.loggedOut = true
		return
	case errors.Is(err, store.ErrStorageFull) || errors.Is(err, syscall.ENOSPC):
		// RFC 9051 §7.1: OVERQUOTA, as Dovecot answers a full disk; the
		// client can still delete (the store keeps a reserve for that).
		s.log.Warn("imap command failed: disk full", "command", c.name, "err", err)
		r = &response{status: "NO", code: "OVERQUOTA", text: "Not enough disk space"}
	case errors.Is(err, imapwire.ErrLiteralTooLarge):
		r = &response{status: "NO", code: "TOOBIG", text: "Literal too large"}
	case errors.Is(err, imapwire.ErrSyntax) || errors.Is(err, imapwire.ErrLineTooLong):
		r = &response{status: "BAD", text: err.Error()}
	default:
		s.log.Warn("imap command failed", "command", c.name, "err", err)
		r = &response{status: "NO", code: "SERVERBUG", text: "Internal error, try again later"}
	}
	if derr := s.dec.DiscardLine(); derr != nil {
		s.fatal(derr)
		s.loggedOut = true
		return
	}
	if s.sel != nil && !s.loggedOut {
		if uerr := s.refresh(!h.byNumber || c.uid); uerr != nil {
			s.log.Warn("imap update failed", "err", uerr)
		}
	}
	s.enc.Raw(c.tag + " " + r.String() + "\r\n")
	s.strike(r.status)
}

// isConnErr reports whether err leaves the connection unusable: a fatal
// decoder error, an I/O error, or a response cut in the middle. Other
// errors (from the store) fail the command only.
func isConnErr(err error) bool {
	var ne net.Error
	return errors.Is(err, imapwire.ErrFatal) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, errConnBroken) || errors.As(err, &ne)
}

// response is a tagged status response; returned as an error by handlers
// (NO, BAD, or an OK with a response code).
type response struct {
	status, code, text string
}

func (r *response) Error() string { return r.String() }

func (r *response) String() string {
	if r.code != "" {
		return r.status + " [" + r.code + "] " + r.text
	}
	return r.status + " " + r.text
}

func bad(format string, args ...any) error {
	return &response{status: "BAD", text: fmt.Sprintf(format, args...)}
}

func no(code, format string, args ...any) error {
	return &response{status: "NO", code: code, text: fmt.Sprintf(format, args...)}
}

func ok(code, text string) error {
	return &response{status: "OK", code: code, text: text}
}

// untagged writes "* " + line + CRLF.
func (s *session) untagged(line string) {
	s.enc.Raw("* ").Raw(line).CRLF()
}

// args reads SP-separated arguments, each with one of the readers, then
// the CRLF that ends the command.
func (s *session) args(read ...func() error) error {
	for _, r := range read {
		if err := s.dec.SP(); err != nil {
			return err
		}
		if err := r(); err != nil {
			return err
		}
	}
	return s.dec.CRLF()
}

// mailbox returns a reader of a mailbox argument into name, for args.
func (s *session) mailbox(name *string) func() error {
	return func() (err error) {
		*name, err = s.mailboxArg()
		return err
	}
}

// seqSet returns a reader of a sequence set into set, for args.
func (s *session) seqSet(set *imapwire.SeqSet) func() error {
	return func() (err error) {
		*set, err = s.dec.SeqSet()
		return err
	}
}

// mailboxArg reads a mailbox name and decodes it: modified UTF-7 for
// IMAP4rev1 clients, UTF-8 once IMAP4rev2 or UTF8=ACCEPT is enabled
// (RFC 9051 §5.1, RFC 6855 §3). INBOX is case-insensitive.
func (s *session) mailboxArg() (string, error) {
	raw, err := s.dec.AString()
	if err != nil {
		return "", err
	}
	return s.decodeName(raw)
}

// errInvalidName refuses a mailbox name with an "&" that does not start
// a valid modified UTF-7 shift. The command's syntax is fine, so it is NO,
// not BAD: RFC 3501 §5.1.3 lets a server refuse such a name, and since
// CREATE refuses it no mailbox can have it (RFC 3501 §5.1.3: the server
// SHOULD verify CREATE's names).
var errInvalidName error = &response{status: "NO", code: "CANNOT",
	text: "Invalid mailbox name: not modified UTF-7 (RFC 3501 §5.1.3)"}

// decodeName decodes a mailbox name leniently, as Dovecot and go-imap
// do: modified UTF-7 shift sequences ("&AOk-", "&-") are decoded and
// UTF-8 is accepted as it is, in either revision (RFC 9051 §5.1.3, RFC
// 6855 §3), so a client that sends UTF-8 before ENABLE still works. A
// malformed shift is errInvalidName.
func (s *session) decodeName(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", bad("Mailbox name is not UTF-8")
	}
	var b strings.Builder
	for rest := raw; rest != ""; {
		i := strings.IndexByte(rest, '&')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '-')
		if j < 0 {
			return "", errInvalidName
		}
		dec, err := imapwire.DecodeMUTF7(rest[i : i+j+1])
		if err != nil {
			return "", errInvalidName
		}
		b.WriteString(dec)
		rest = rest[i+j+1:]
	}
	return canonicalInbox(b.String()), nil
}

// canonicalInbox spells INBOX, and the INBOX level of the names under it,
// in upper case: INBOX is case-insensitive (RFC 9051 §5.1), so "inbox/x"
// is a child of INBOX, not of a second mailbox "inbox".
func canonicalInbox(name string) string {
	if len(name) >= 5 && strings.EqualFold(name[:5], "INBOX") && (len(name) == 5 || name[5] == '/') {
		return "INBOX" + name[5:]
	}
	return name
}

// wireName is a mailbox name as this client reads it: modified UTF-7, or
// UTF-8 with "&" still escaped as "&-" once UTF-8 is enabled, so that
// decodeName reads back what was sent.
func (s *session) wireName(name string) string {
	if s.utf8Mode() {
		return strings.ReplaceAll(name, "&", "&-")
	}
	return imapwire.EncodeMUTF7(name)
}
