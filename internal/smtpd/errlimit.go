package smtpd

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Refused recipients, as Postfix counts them (smtpd_soft_error_limit,
// smtpd_hard_error_limit, smtpd_error_sleep_time, with its defaults):
// past SoftErrors refusals in a session each further one is answered
// ErrorSleep late (a tarpit), and the HardErrors-th ends the session with
// 421 4.7.0, so that sorting real users from the rest with a pipelined
// burst of RCPTs costs time and connections. The refusals of one client
// address are also counted over an hour: past RcptErrorsPerIP, the first
// refusal of each new session ends it.
const (
	defaultSoftErrors      = 10
	defaultHardErrors      = 20
	defaultErrorSleep      = time.Second
	defaultRcptErrorsPerIP = 100
	ipErrorWindow          = time.Hour
	ipErrorEntries         = 65536 // bound of the per-address map
)

// RFC 5321 §3.8: the server may close with 421 after a reply; RFC 3463
// §3.8: X.7.0, other security or policy status.
var errTooManyErrors = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many refused recipients, closing connection"}

// ipErrors counts refused recipients per client address over a fixed
// window. It is safe for concurrent use.
type ipErrors struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[netip.Addr]*ipCount
}

type ipCount struct {
	n     int
	since time.Time
}

func newIPErrors(now func() time.Time) *ipErrors {
	return &ipErrors{now: now, m: map[netip.Addr]*ipCount{}}
}

// add counts one refusal for ip and returns the count in its window.
func (e *ipErrors) add(ip netip.Addr) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	c := e.m[ip]
	if c == nil || now.Sub(c.since) >= ipErrorWindow {
		if len(e.m) >= ipErrorEntries {
			e.expire(now)
		}
		c = &ipCount{since: now}
		e.m[ip] = c
	}
	c.n++
	return c.n
}

// expire drops the counts whose window has passed; if none has, it drops
// all (a flood of addresses must not grow the map without bound).
func (e *ipErrors) expire(now time.Time) {
	for ip, c := range e.m {
		if now.Sub(c.since) >= ipErrorWindow {
			delete(e.m, ip)
		}
	}
	if len(e.m) >= ipErrorEntries {
		clear(e.m)
	}
}

// limitErrors counts a refused recipient (a 5xx reply to RCPT) and
// returns the reply to send: after a delay past the soft limit, and
// errTooManyErrors (the connection then closed) at the hard limit or when
// the client's address is over its hourly count. LMTP (a trusted front
// MTA) and trusted networks are exempt.
func (s *session) limitErrors(err error) error {
	se, ok := err.(*smtp.SMTPError)
	o := &s.srv.opts
	if !ok || se.Code < 500 || o.Mode == LMTP || inAny(o.Trusted, s.ip) {
		return err
	}
	s.rcptErrors++
	overIP := s.ip.IsValid() && o.RcptErrorsPerIP > 0 && s.srv.ipErrors.add(s.ip) > o.RcptErrorsPerIP
	if s.rcptErrors > o.SoftErrors || overIP {
		s.tarpit(o.ErrorSleep)
	}
	if s.rcptErrors >= o.HardErrors || overIP {
		s.srv.log.Info("session ended: too many refused recipients", "ip", s.ip, "session", s.rcptErrors, "ip_over_limit", overIP)
		s.closeWith(errTooManyErrors)
	}
	return err
}

// tarpit waits d, or until the session ends.
func (s *session) tarpit(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
	}
}

// closeWith writes reply and closes the connection. go-smtp has no way
// for a session to end the connection after a reply: the reply is
// written here, go-smtp's own write of the command's reply then fails,
// and its next read sees the closed connection and ends the session
// without reading the commands the client pipelined.
func (s *session) closeWith(reply *smtp.SMTPError) {
	nc := s.conn.Conn()
	nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	e := reply.EnhancedCode
	fmt.Fprintf(nc, "%d %d.%d.%d %s\r\n", reply.Code, e[0], e[1], e[2], reply.Message)
	s.conn.Close()
}
