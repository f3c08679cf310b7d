package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Reply is an SMTP reply, from the remote server or made here (Local).
type Reply struct {
	Code     int
	Enhanced string // "5.1.1", "" when the server gave none
	Text     string // the reply lines joined by spaces
	Local    bool   // decided here, not said by a server
}

func (r *Reply) Error() string {
	if r.Enhanced == "" {
		return fmt.Sprintf("%d %s", r.Code, r.Text)
	}
	return fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text)
}

// Temporary reports a 4xx reply; a 5xx reply fails the recipient at once.
func (r *Reply) Temporary() bool { return r.Code < 500 }

// Status is the RFC 3463 status for a DSN, derived from the code when the
// server gave none.
func (r *Reply) Status() string {
	if r.Enhanced != "" {
		return r.Enhanced
	}
	if r.Temporary() {
		return "4.0.0"
	}
	return "5.0.0"
}

func permanent(code int, enh, text string) *Reply {
	return &Reply{Code: code, Enhanced: enh, Text: text, Local: true}
}

func temporary(code int, enh, text string) *Reply {
	return &Reply{Code: code, Enhanced: enh, Text: text, Local: true}
}

// asReply turns any error into a Reply; unknown errors are temporary
// (network failures, timeouts).
func asReply(err error) *Reply {
	var r *Reply
	if errors.As(err, &r) {
		return r
	}
	return temporary(451, "4.4.2", err.Error())
}

// Timeouts are the client's waits per RFC 5321 §4.5.3.2.
type Timeouts struct {
	Connect, Greeting, Mail, Rcpt, DataInit, DataBlock, DataTerm time.Duration
}

// DefaultTimeouts are RFC 5321 §4.5.3.2's minimums (Connect is ours).
var DefaultTimeouts = Timeouts{
	Connect: 30 * time.Second, Greeting: 5 * time.Minute, Mail: 5 * time.Minute, Rcpt: 5 * time.Minute,
	DataInit: 2 * time.Minute, DataBlock: 3 * time.Minute, DataTerm: 10 * time.Minute,
}

// client is one SMTP connection to a next hop.
type client struct {
	conn     net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	host     mxHost
	addr     string
	ext      map[string]string // EHLO keywords (upper case) → parameters
	tls      bool
	verified bool // PKIX or DANE verified
	// trusted: the host name itself is vouched for (an administrator's
	// route, a DNSSEC-signed MX answer, or an MTA-STS policy), as
	// REQUIRETLS needs (RFC 8689 §4.2.1).
	trusted bool
	to      Timeouts
	broken  bool
	idle    time.Time
	unwatch func() bool // stops closing the connection when the runner stops
}

// remote names the server for DSNs and logs: "mx.b.test[127.0.0.1]".
func (c *client) remote() string {
	h, _, _ := net.SplitHostPort(c.addr)
	return c.host.Name + "[" + h + "]"
}

func (c *client) has(ext string) bool { _, ok := c.ext[ext]; return ok }

func (c *client) deadline(d time.Duration) { c.conn.SetDeadline(time.Now().Add(d)) }

// readReply reads one (possibly multiline) reply.
func (c *client) readReply(d time.Duration) (*Reply, error) {
	c.deadline(d)
	var lines []string
	code := 0
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.broken = true
			return nil, fmt.Errorf("%s: %w", c.remote(), err)
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			c.broken = true
			return nil, fmt.Errorf("%s: malformed reply %q", c.remote(), line)
		}
		n, err := strconv.Atoi(line[:3])
		if err != nil || n < 200 || n > 599 || (code != 0 && n != code) {
			c.broken = true
			return nil, fmt.Errorf("%s: malformed reply %q", c.remote(), line)
		}
		code = n
		more := len(line) > 3 && line[3] == '-'
		if len(line) > 4 {
			lines = append(lines, line[4:])
		}
		if !more {
			break
		}
	}
	r := &Reply{Code: code}
	if code == 421 { // RFC 5321 §3.8: the server is closing the channel
		c.broken = true
	}
	if len(lines) > 0 {
		first := lines[0]
		if enh, rest, ok := strings.Cut(first, " "); ok && isEnhanced(enh, code) {
			r.Enhanced = enh
			lines[0] = rest
		} else if isEnhanced(first, code) {
			r.Enhanced, lines[0] = first, ""
		}
	}
	r.Text = strings.TrimSpace(strings.Join(lines, " "))
	if len(lines) > 1 && r.Enhanced != "" {
		// Continuation lines repeat the enhanced code: keep the text.
		r.Text = strings.ReplaceAll(r.Text, r.Enhanced+" ", "")
	}
	return r, nil
}

func isEnhanced(s string, code int) bool {
	p := strings.Split(s, ".")
	if len(p) != 3 || p[0] != strconv.Itoa(code/100) {
		return false
	}
	for _, x := range p[1:] {
		if _, err := strconv.Atoi(x); err != nil || len(x) > 3 {
			return false
		}
	}
	return true
}

func (c *client) write(format string, args ...any) {
	fmt.Fprintf(c.w, format+"\r\n", args...)
}

func (c *client) flush(d time.Duration) error {
	c.deadline(d)
	if err := c.w.Flush(); err != nil {
		c.broken = true
		return fmt.Errorf("%s: %w", c.remote(), err)
	}
	return nil
}

// cmd sends one command and reads its reply.
func (c *client) cmd(d time.Duration, format string, args ...any) (*Reply, error) {
	c.write(format, args...)
	if err := c.flush(d); err != nil {
		return nil, err
	}
	return c.readReply(d)
}

// dial connects to addr and reads the greeting.
// dial connects to addr and reads the greeting; with tlsConf the
// connection is TLS from the start (a smarthost on port 465, RFC 8314).
func dial(ctx context.Context, addr string, h mxHost, to Timeouts, tlsConf *tls.Config) (*client, error) {
	d := net.Dialer{Timeout: to.Connect}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// Shutdown cancels ctx: a session waiting on a slow server ends then,
	// not when its RFC 5321 timeout does.
	unwatch := context.AfterFunc(ctx, func() { raw.Close() })
	conn := raw
	if tlsConf != nil {
		tc := tls.Client(raw, tlsConf)
		tc.SetDeadline(time.Now().Add(to.Greeting))
		if err := tc.Handshake(); err != nil {
			unwatch()
			raw.Close()
			return nil, temporary(451, "4.7.5", fmt.Sprintf("%s: TLS handshake: %v", addr, err))
		}
		conn = tc
	}
	c := &client{conn: conn, r: bufio.NewReaderSize(conn, 4096), w: bufio.NewWriterSize(conn, 32<<10),
		host: h, addr: addr, to: to, tls: tlsConf != nil, unwatch: unwatch}
	r, err := c.readReply(to.Greeting)
	if err != nil {
		unwatch()
		conn.Close()
		return nil, err
	}
	if r.Code != 220 {
		c.quit()
		return nil, r
	}
	return c, nil
}

// hello falls back to HELO when EHLO is refused (RFC 5321 §3.2): no
// extensions.
func (c *client) hello(hostname string) error {
	c.ext = map[string]string{}
	r, err := c.cmd(c.to.Greeting, "HELO %s", hostname)
	if err != nil {
		return err
	}
	if r.Code != 250 {
		return r
	}
	return nil
}

// ehlo says EHLO and records the extensions the server offers.
func (c *client) ehlo(hostname string) error {
	c.write("EHLO %s", hostname)
	if err := c.flush(c.to.Greeting); err != nil {
		return err
	}
	c.deadline(c.to.Greeting)
	c.ext = map[string]string{}
	first := true
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.broken = true
			return fmt.Errorf("%s: %w", c.remote(), err)
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			c.broken = true
			return fmt.Errorf("%s: malformed EHLO reply %q", c.remote(), line)
		}
		if !strings.HasPrefix(line, "250") {
			// Refused: read the rest of the reply, then try HELO.
			for len(line) > 3 && line[3] == '-' {
				if line, err = c.r.ReadString('\n'); err != nil {
					c.broken = true
					return err
				}
				line = strings.TrimRight(line, "\r\n")
			}
			return c.hello(hostname)
		}
		if !first && len(line) > 4 {
			kw, params, _ := strings.Cut(line[4:], " ")
			c.ext[strings.ToUpper(kw)] = params
		}
		first = false
		if len(line) == 3 || line[3] != '-' {
			return nil
		}
	}
}

// startTLS upgrades the connection (RFC 3207) and says EHLO again.
func (c *client) startTLS(hostname string, conf *tls.Config) error {
	r, err := c.cmd(c.to.Greeting, "STARTTLS")
	if err != nil {
		return err
	}
	if r.Code != 220 {
		return r
	}
	tc := tls.Client(c.conn, conf)
	c.deadline(c.to.Greeting)
	if err := tc.Handshake(); err != nil {
		c.broken = true
		return fmt.Errorf("%s: TLS handshake: %w", c.remote(), err)
	}
	c.conn, c.tls = tc, true
	c.r.Reset(tc)
	c.w.Reset(tc)
	return c.ehlo(hostname)
}

// auth authenticates to a smarthost with AUTH PLAIN (RFC 4954).
func (c *client) auth(user, pass string) error {
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	r, err := c.cmd(c.to.Mail, "AUTH PLAIN %s", resp)
	if err != nil {
		return err
	}
	if r.Code != 235 {
		return r
	}
	return nil
}

// quit ends the session politely and closes the connection.
func (c *client) quit() {
	c.unwatch()
	if !c.broken {
		c.deadline(10 * time.Second)
		c.write("QUIT")
		if c.w.Flush() == nil {
			c.r.ReadString('\n')
		}
	}
	c.conn.Close()
}

// dotWriter writes a DATA body: CRLF line ends, leading dots doubled
// (RFC 5321 §4.5.2), and the final CRLF.CRLF on Close.
type dotWriter struct {
	w    *bufio.Writer
	bol  bool // at the beginning of a line
	prev byte
}

func (d *dotWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if d.bol && b == '.' {
			d.w.WriteByte('.')
		}
		if b == '\n' && d.prev != '\r' {
			d.w.WriteByte('\r')
		}
		d.w.WriteByte(b)
		d.prev = b
		d.bol = b == '\n'
	}
	return len(p), nil
}

func (d *dotWriter) Close() error {
	if !d.bol {
		d.w.WriteString("\r\n")
	}
	_, err := d.w.WriteString(".\r\n")
	return err
}

var _ io.WriteCloser = (*dotWriter)(nil)
