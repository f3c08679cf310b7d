// Command pop3load retrieves every message of many POP3 mailboxes over many
// connections, and prints messages/second and MB/second. It measures the
// download path of a POP3 server (Facteur's, or any other, e.g. Dovecot).
//
// Usage:
//
//	go run ./bench/pop3load -addr HOST:PORT -users 'user%d@bench.test' -mailboxes 10 \
//		-pass PASSWORD [-c 10] [-rounds 1] [-pipeline 16] [-starttls | -tls] [-dele]
//
// -users is a pattern with one %d, filled with 0 … mailboxes-1. Mailbox i is
// always handled by connection goroutine i mod c, so two connections never
// ask for the same maildrop (POP3 allows one session per maildrop); there
// should be at least c mailboxes. Each goroutine, for every round and every
// one of its mailboxes: connects, logs in with USER/PASS (after STLS with
// -starttls), sends STAT, then RETR 1 … n in batches of -pipeline commands
// written at once (RFC 2449 PIPELINING; -pipeline 1 waits for each reply),
// then DELE for every message with -dele, and QUIT. Certificates are not
// verified: this is a benchmark.
//
// At the end it prints to stdout:
//
//	sessions=10 messages=20000 bytes=84000000 errors=0 elapsed=1.02s
//	rate=19607.8 msg/s 82.4 MB/s
//
// bytes counts the messages as received, after removing the dot-stuffing,
// with their CRLF line endings; MB is 10^6 bytes. elapsed covers everything
// from the first connection to the last QUIT, logins included. A session
// that fails counts one error and what it had retrieved; the first errors
// are printed to stderr. The exit status is 1 if any error occurred, 2 on
// usage errors.
package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	addr, users, pass    string
	mailboxes, conns     int
	rounds, pipeline     int
	starttls, tls, dele  bool
	timeout              time.Duration
	messages, bytes, err atomic.Int64
	errMu                sync.Mutex
	errsShown            int
}

func main() {
	o := &options{}
	flag.StringVar(&o.addr, "addr", "127.0.0.1:1110", "POP3 server address")
	flag.StringVar(&o.users, "users", "user%d@bench.test", "user name pattern with one %d")
	flag.IntVar(&o.mailboxes, "mailboxes", 10, "number of mailboxes (users)")
	flag.StringVar(&o.pass, "pass", "", "password of every user")
	flag.IntVar(&o.conns, "c", 10, "concurrent connections")
	flag.IntVar(&o.rounds, "rounds", 1, "times each mailbox is downloaded")
	flag.IntVar(&o.pipeline, "pipeline", 16, "RETR commands written at once")
	flag.BoolVar(&o.starttls, "starttls", false, "STLS before logging in")
	flag.BoolVar(&o.tls, "tls", false, "implicit TLS (port 995)")
	flag.BoolVar(&o.dele, "dele", false, "delete every message after retrieving it")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "bound of every network step")
	flag.Parse()
	if o.conns < 1 || o.mailboxes < 1 || o.pipeline < 1 || o.rounds < 1 || !strings.Contains(o.users, "%d") {
		flag.Usage()
		os.Exit(2)
	}
	sessions, elapsed := run(o)
	fmt.Print(report(sessions, o.messages.Load(), o.bytes.Load(), o.err.Load(), elapsed))
	if o.err.Load() > 0 {
		os.Exit(1)
	}
}

// run downloads every mailbox o.rounds times and returns the number of
// sessions and the elapsed time.
func run(o *options) (int, time.Duration) {
	start := time.Now()
	var wg sync.WaitGroup
	var sessions atomic.Int64
	for w := range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range o.rounds {
				for i := w; i < o.mailboxes; i += o.conns {
					sessions.Add(1)
					if err := o.session(fmt.Sprintf(o.users, i)); err != nil {
						o.fail(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	return int(sessions.Load()), time.Since(start)
}

func report(sessions int, msgs, bytes, errs int64, elapsed time.Duration) string {
	secs := elapsed.Seconds()
	return fmt.Sprintf("sessions=%d messages=%d bytes=%d errors=%d elapsed=%.2fs\nrate=%.1f msg/s %.1f MB/s\n",
		sessions, msgs, bytes, errs, secs, float64(msgs)/secs, float64(bytes)/secs/1e6)
}

func (o *options) fail(err error) {
	o.err.Add(1)
	o.errMu.Lock()
	defer o.errMu.Unlock()
	if o.errsShown < 5 {
		o.errsShown++
		fmt.Fprintln(os.Stderr, "pop3load:", err)
	}
}

// conn is one POP3 client connection.
type conn struct {
	c       net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
}

func (o *options) dial() (*conn, error) {
	d := net.Dialer{Timeout: o.timeout}
	var c net.Conn
	var err error
	if o.tls {
		c, err = tls.DialWithDialer(&d, "tcp", o.addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = d.Dial("tcp", o.addr)
	}
	if err != nil {
		return nil, err
	}
	pc := &conn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriter(c), timeout: o.timeout}
	if _, err := pc.reply(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return pc, nil
}

// session downloads one mailbox.
func (o *options) session(user string) error {
	c, err := o.dial()
	if err != nil {
		return err
	}
	defer c.c.Close()
	if o.starttls {
		if err := c.startTLS(); err != nil {
			return err
		}
	}
	if _, err := c.cmd("USER " + user); err != nil {
		return err
	}
	if _, err := c.cmd("PASS " + o.pass); err != nil {
		return fmt.Errorf("%s: %w", user, err)
	}
	stat, err := c.cmd("STAT")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.Fields(stat + " x")[1])
	if err != nil {
		return fmt.Errorf("STAT reply %q", stat)
	}
	if err := o.retrieveAll(c, n); err != nil {
		return err
	}
	if o.dele {
		if err := c.pipelined(n, o.pipeline, "DELE", nil); err != nil {
			return err
		}
	}
	_, err = c.cmd("QUIT")
	return err
}

// retrieveAll sends RETR 1 … n, o.pipeline at a time, and counts.
func (o *options) retrieveAll(c *conn, n int) error {
	return c.pipelined(n, o.pipeline, "RETR", func() error {
		size, err := c.body()
		if err != nil {
			return err
		}
		o.messages.Add(1)
		o.bytes.Add(size)
		return nil
	})
}

// pipelined sends "verb i" for i in 1 … n, depth commands per write, and
// reads each reply, then the multi-line body with body when not nil.
func (c *conn) pipelined(n, depth int, verb string, body func() error) error {
	for first := 1; first <= n; first += depth {
		last := min(first+depth-1, n)
		c.c.SetWriteDeadline(time.Now().Add(c.timeout))
		for i := first; i <= last; i++ {
			fmt.Fprintf(c.w, "%s %d\r\n", verb, i)
		}
		if err := c.w.Flush(); err != nil {
			return err
		}
		for i := first; i <= last; i++ {
			if _, err := c.reply(); err != nil {
				return fmt.Errorf("%s %d: %w", verb, i, err)
			}
			if body == nil {
				continue
			}
			if err := body(); err != nil {
				return fmt.Errorf("%s %d: %w", verb, i, err)
			}
		}
	}
	return nil
}

func (c *conn) startTLS() error {
	if _, err := c.cmd("STLS"); err != nil {
		return err
	}
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
	c.c = tc
	c.r.Reset(tc)
	c.w.Reset(tc)
	return nil
}

// cmd sends one command and reads its one-line reply.
func (c *conn) cmd(line string) (string, error) {
	c.c.SetWriteDeadline(time.Now().Add(c.timeout))
	c.w.WriteString(line + "\r\n")
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	r, err := c.reply()
	if err != nil {
		return "", fmt.Errorf("%s: %w", strings.Fields(line)[0], err)
	}
	return r, nil
}

// reply reads a status line; -ERR is an error.
func (c *conn) reply() (string, error) {
	c.c.SetReadDeadline(time.Now().Add(c.timeout))
	l, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	l = strings.TrimRight(l, "\r\n")
	if !strings.HasPrefix(l, "+OK") {
		return "", errors.New(l)
	}
	return l, nil
}

// body reads a multi-line body to its terminator and returns its size
// without dot-stuffing.
func (c *conn) body() (int64, error) {
	var size int64
	startOfLine := true
	for {
		c.c.SetReadDeadline(time.Now().Add(c.timeout))
		chunk, err := c.r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return size, err
		}
		if startOfLine && len(chunk) > 0 && chunk[0] == '.' {
			if string(chunk) == ".\r\n" || string(chunk) == ".\n" {
				return size, nil
			}
			chunk = chunk[1:]
		}
		if len(chunk) == 0 {
			continue
		}
		size += int64(len(chunk))
		startOfLine = chunk[len(chunk)-1] == '\n'
	}
}
