package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// client is the smallest IMAP client the benchmark needs: it writes tagged
// commands and reads responses up to the tagged completion, skipping the
// bytes of literals ({n}) inside them.
type client struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	tag     int
	timeout time.Duration
	exists  int // the last "* n EXISTS" seen
}

// dialConfig says how to reach the server.
type dialConfig struct {
	addr      string
	tls       bool // implicit TLS (993)
	starttls  bool
	timeout   time.Duration
	localAddr net.IP // source address, to spread connections over 127.0.0.0/8
}

func dial(dc dialConfig) (*client, error) {
	d := net.Dialer{Timeout: dc.timeout}
	if dc.localAddr != nil {
		d.LocalAddr = &net.TCPAddr{IP: dc.localAddr}
	}
	conn, err := d.Dial("tcp", dc.addr)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{InsecureSkipVerify: true} // a benchmark: any certificate
	if dc.tls {
		conn = tls.Client(conn, tlsConf)
	}
	c := newClient(conn, dc.timeout)
	if _, err := c.readLine(); err != nil { // greeting
		conn.Close()
		return nil, err
	}
	if dc.starttls {
		if _, err := c.cmd("STARTTLS"); err != nil {
			conn.Close()
			return nil, err
		}
		c.conn = tls.Client(conn, tlsConf)
		c.r, c.w = bufio.NewReader(c.conn), bufio.NewWriter(c.conn)
	}
	return c, nil
}

func newClient(conn net.Conn, timeout time.Duration) *client {
	return &client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), w: bufio.NewWriterSize(conn, 4<<10), timeout: timeout}
}

func (c *client) Close() error { return c.conn.Close() }

// cmd sends one command and reads until its tagged reply, which must be OK.
// It returns the untagged lines (literal bytes are counted, not kept).
func (c *client) cmd(format string, args ...any) ([]string, error) {
	if err := c.send(format, args...); err != nil {
		return nil, err
	}
	return c.wait()
}

func (c *client) send(format string, args ...any) error {
	c.tag++
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	fmt.Fprintf(c.w, "a%d ", c.tag)
	fmt.Fprintf(c.w, format, args...)
	c.w.WriteString("\r\n")
	return c.w.Flush()
}

// wait reads responses until the tagged one for the last command sent.
func (c *client) wait() ([]string, error) {
	tag := "a" + strconv.Itoa(c.tag) + " "
	var lines []string
	for {
		line, err := c.readLine()
		if err != nil {
			return lines, err
		}
		if rest, ok := strings.CutPrefix(line, tag); ok {
			if !strings.HasPrefix(rest, "OK") {
				return lines, fmt.Errorf("%s", strings.TrimSpace(line))
			}
			return lines, nil
		}
		if n, ok := existsCount(line); ok {
			c.exists = n
		}
		lines = append(lines, line)
	}
}

// readLine reads one response line; literal data inside it is skipped and
// the line continues after it.
func (c *client) readLine() (string, error) {
	var b strings.Builder
	for {
		part, err := c.r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		part = strings.TrimRight(part, "\r\n")
		b.WriteString(part)
		n, ok := literalSize(part)
		if !ok {
			return b.String(), nil
		}
		if _, err := io.CopyN(io.Discard, c.r, n); err != nil {
			return b.String(), err
		}
	}
}

// literalSize reports the n of a line ending in "{n}" (or "~{n}").
func literalSize(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(line[i+1:len(line)-1], "+"), 10, 64)
	return n, err == nil && n >= 0
}

func existsCount(line string) (int, bool) {
	f := strings.Fields(line)
	if len(f) == 3 && f[0] == "*" && strings.EqualFold(f[2], "EXISTS") {
		n, err := strconv.Atoi(f[1])
		return n, err == nil
	}
	return 0, false
}

// login authenticates with LOGIN and a quoted user name and password.
func (c *client) login(user, pass string) error {
	_, err := c.cmd("LOGIN %s %s", quote(user), quote(pass))
	return err
}

// idle enters IDLE and waits for the continuation request.
func (c *client) idle() error {
	if err := c.send("IDLE"); err != nil {
		return err
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "+") {
			c.conn.SetDeadline(time.Time{}) // idling may last
			return nil
		}
		if strings.HasPrefix(line, "a") {
			return errors.New("IDLE refused: " + line)
		}
	}
}

// done ends IDLE.
func (c *client) done() error {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.w.WriteString("DONE\r\n"); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	_, err := c.wait()
	return err
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
