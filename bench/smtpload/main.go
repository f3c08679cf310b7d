// Command smtpload is an SMTP load generator for benchmarking Facteur (or any
// other SMTP server).
//
// Usage:
//
//	go run ./bench/smtpload -addr HOST:PORT -from FROM -to TO[,TO2...] \
//		[-n 1000] [-c 10] [-size 4096] [-tls | -starttls] [-auth user:pass] \
//		[-reuse=true] [-timeout 30s] [-helo NAME]
//
// -c sender goroutines share -n messages through an atomic counter; each
// goroutine has its own connection. With -reuse (the default) a connection
// carries many transactions back to back (MAIL, RCPT..., DATA, then the next
// MAIL, without RSET); with -reuse=false every message gets its own
// connection, closed with QUIT after the transaction. Commands are not
// pipelined.
//
// Every message is a valid RFC 5322 text/plain message of about -size bytes
// (measured as the message itself: CRLF line endings, before dot-stuffing),
// with Date, From, To, Subject and a Message-ID unique per message. Body lines
// are at most 76 characters of printable ASCII; some of them start with "." so
// that dot-stuffing is exercised. Messages cannot be smaller than their header
// (roughly 300 bytes).
//
// The transaction latency of a message is measured from just before writing
// MAIL FROM to the receipt of the reply to the final "." of DATA. Connection
// set-up (TCP, TLS, EHLO, AUTH) and QUIT are not part of it, but they are part
// of the elapsed time. A message is an error when any reply of its transaction
// (or of the connection set-up it needed) is not the expected 2xx (354 for
// DATA), or on a network failure or timeout; its transaction is then abandoned
// (RSET). The first few distinct errors are printed to stderr. If a reused
// connection turns out to have been closed by the server when MAIL FROM is
// sent, the message is retried once on a new connection.
//
// -timeout bounds every network step: dialing, the TLS handshake, and each
// command with its reply (the whole message body and its reply, for DATA).
//
// -starttls sends EHLO, STARTTLS, then EHLO again over TLS; -tls uses implicit
// TLS. Certificates are not verified: this is a benchmark, typically against a
// self-signed development certificate. -auth user:pass authenticates with
// AUTH PLAIN after EHLO (and STARTTLS); whether it is allowed without TLS is up
// to the server.
//
// At the end it prints to stdout:
//
//	sent=5000 errors=0 elapsed=3.21s
//	rate=1557.6 msg/s
//	latency p50=11.2ms p90=15.0ms p99=21.3ms max=40.2ms
//
// sent counts the messages attempted and errors those that failed; rate is
// the number of successful messages per second of elapsed time, and the
// latency percentiles (nearest rank) are over successful transactions only
// ("n/a" when there are none).
//
// The exit status is 0 when every message was accepted, 1 if any error
// occurred, and 2 on usage errors.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// options configures a load run.
type options struct {
	Addr     string        // server address, host:port
	From     string        // envelope sender and From header
	To       []string      // envelope recipients and To header
	N        int           // total number of messages
	C        int           // concurrent connections
	Size     int           // approximate message size in bytes
	TLS      bool          // implicit TLS
	StartTLS bool          // STARTTLS after the first EHLO
	Auth     string        // "user:pass" for AUTH PLAIN; empty for none
	Reuse    bool          // many messages per connection
	Timeout  time.Duration // per network step; 0 for none
	Helo     string        // EHLO name
	// DKIM signs every message with this key file for DKIMDomain and
	// DKIMSelector; "" for unsigned messages.
	DKIM, DKIMDomain, DKIMSelector string
}

// errorSample is one distinct error text and how many messages failed with it.
type errorSample struct {
	Text  string
	Count int
}

// result is the outcome of a load run.
type result struct {
	Sent      int             // messages attempted
	Errors    int             // messages that failed
	Retries   int             // messages retried after a stale reused connection
	Elapsed   time.Duration   // wall time of the run
	Latencies []time.Duration // transaction latencies of successful messages, sorted
	// ErrorSamples holds the first few distinct error texts, in order of
	// first occurrence.
	ErrorSamples []errorSample
}

// maxErrorSamples bounds the number of distinct error texts remembered.
const maxErrorSamples = 5

// percentile returns the nearest-rank p-th percentile (0 < p <= 1) of the
// sorted latencies, and false if there are none.
func (r *result) percentile(p float64) (time.Duration, bool) {
	n := len(r.Latencies)
	if n == 0 {
		return 0, false
	}
	i := int(math.Ceil(float64(n)*p-1e-9)) - 1
	i = max(0, min(i, n-1))
	return r.Latencies[i], true
}

// rate returns successful messages per second.
func (r *result) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent-r.Errors) / r.Elapsed.Seconds()
}

func (r *result) print(w io.Writer) {
	ms := func(p float64) string {
		d, ok := r.percentile(p)
		if !ok {
			return "n/a"
		}
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	fmt.Fprintf(w, "sent=%d errors=%d elapsed=%.2fs\n", r.Sent, r.Errors, r.Elapsed.Seconds())
	fmt.Fprintf(w, "rate=%.1f msg/s\n", r.rate())
	fmt.Fprintf(w, "latency p50=%s p90=%s p99=%s max=%s\n", ms(0.50), ms(0.90), ms(0.99), ms(1))
}

func (r *result) printErrors(w io.Writer) {
	if r.Retries > 0 {
		fmt.Fprintf(w, "smtpload: %d message(s) retried on a new connection after the server closed a reused one\n", r.Retries)
	}
	if r.Errors == 0 {
		return
	}
	fmt.Fprintf(w, "smtpload: %d error(s); first distinct errors:\n", r.Errors)
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(w, "  %dx %s\n", s.Count, s.Text)
	}
}

// realMain parses args, runs the load and reports; it returns the exit status.
func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smtpload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var to string
	fs.StringVar(&o.Addr, "addr", "", "server `host:port` (required)")
	fs.StringVar(&o.From, "from", "", "envelope sender and From `address` (required)")
	fs.StringVar(&to, "to", "", "comma-separated recipient `addresses` (required)")
	fs.IntVar(&o.N, "n", 1000, "total number of messages")
	fs.IntVar(&o.C, "c", 10, "concurrent connections (sender goroutines)")
	fs.IntVar(&o.Size, "size", 4096, "approximate message size in `bytes`")
	fs.BoolVar(&o.TLS, "tls", false, "use implicit TLS (certificate not verified)")
	fs.BoolVar(&o.StartTLS, "starttls", false, "use STARTTLS (certificate not verified)")
	fs.StringVar(&o.Auth, "auth", "", "authenticate with AUTH PLAIN as `user:pass`")
	fs.BoolVar(&o.Reuse, "reuse", true, "send many messages per connection (false: one connection per message)")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "timeout of each network step (0: none)")
	fs.StringVar(&o.Helo, "helo", "localhost", "EHLO `name`")
	fs.StringVar(&o.DKIM, "dkim", "", "DKIM-sign every message with this PKCS #8 PEM `keyfile` (for -dkim-domain, -dkim-selector)")
	fs.StringVar(&o.DKIMDomain, "dkim-domain", "", "d= of the DKIM signatures (default: the -from domain)")
	fs.StringVar(&o.DKIMSelector, "dkim-selector", "", "s= of the DKIM signatures")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: smtpload -addr HOST:PORT -from FROM -to TO[,TO2...] [flags]\n\n"+
			"Sends -n messages over -c concurrent SMTP connections and reports throughput\n"+
			"and transaction latency (MAIL FROM to the reply to the end of DATA).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	for _, a := range strings.Split(to, ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.To = append(o.To, a)
		}
	}
	err := o.validate()
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintf(stderr, "smtpload: %v\n", err)
		fs.Usage()
		return 2
	}
	res, err := run(o)
	if err != nil {
		fmt.Fprintf(stderr, "smtpload: %v\n", err)
		return 1
	}
	res.print(stdout)
	res.printErrors(stderr)
	if res.Errors > 0 {
		return 1
	}
	return 0
}

// validate reports the first problem with o.
func (o *options) validate() error {
	switch {
	case o.Addr == "":
		return errors.New("-addr is required")
	case o.From == "":
		return errors.New("-from is required")
	case len(o.To) == 0:
		return errors.New("-to is required")
	case o.N < 1:
		return errors.New("-n must be at least 1")
	case o.C < 1:
		return errors.New("-c must be at least 1")
	case o.Size < 0:
		return errors.New("-size must not be negative")
	case o.Timeout < 0:
		return errors.New("-timeout must not be negative")
	case o.TLS && o.StartTLS:
		return errors.New("-tls and -starttls are mutually exclusive")
	case o.Auth != "" && !strings.Contains(o.Auth, ":"):
		return errors.New("-auth must be user:pass")
	case o.DKIM != "" && o.DKIMSelector == "":
		return errors.New("-dkim needs -dkim-selector")
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return fmt.Errorf("-addr: %v", err)
	}
	for _, a := range append([]string{o.From}, o.To...) {
		if a == "" || strings.ContainsAny(a, "<> \t\r\n") {
			return fmt.Errorf("invalid address %q", a)
		}
	}
	if strings.ContainsAny(o.Helo, " \t\r\n") || o.Helo == "" {
		return fmt.Errorf("invalid -helo %q", o.Helo)
	}
	if strings.ContainsAny(o.Auth, "\r\n") {
		return errors.New("invalid -auth")
	}
	return nil
}

// plan is the immutable, precomputed state shared by all workers.
type plan struct {
	opts      options
	tlsConfig *tls.Config
	ehlo      string   // "EHLO name\r\n"
	helo      string   // "HELO name\r\n"
	auth      string   // "AUTH PLAIN ...\r\n" or ""
	mail      string   // "MAIL FROM:<...>\r\n"
	rcpts     []string // "RCPT TO:<...>\r\n"
	msgs      *msgBuilder
	signer    *signer // nil: unsigned (dkim.go)
}

func newPlan(o options) *plan {
	p := &plan{
		opts: o,
		ehlo: "EHLO " + o.Helo + "\r\n",
		helo: "HELO " + o.Helo + "\r\n",
		mail: "MAIL FROM:<" + o.From + ">\r\n",
		msgs: newMsgBuilder(o.From, o.To, o.Size),
	}
	for _, t := range o.To {
		p.rcpts = append(p.rcpts, "RCPT TO:<"+t+">\r\n")
	}
	if o.Auth != "" {
		user, pass, _ := strings.Cut(o.Auth, ":")
		p.auth = "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "\r\n"
	}
	if o.TLS || o.StartTLS {
		host, _, _ := net.SplitHostPort(o.Addr)
		p.tlsConfig = &tls.Config{
			// Benchmarks run against self-signed development certificates.
			InsecureSkipVerify: true,
		}
		if net.ParseIP(host) == nil {
			p.tlsConfig.ServerName = host
		}
	}
	return p
}

// run sends o.N messages over o.C connections and reports the outcome.
// Individual message failures are counted in the result; the error is only
// for invalid options.
func run(o options) (*result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	p := newPlan(o)
	if o.DKIM != "" {
		d := o.DKIMDomain
		if d == "" {
			d = o.From[strings.LastIndexByte(o.From, '@')+1:]
		}
		s, err := loadSigner(o.DKIM, d, o.DKIMSelector)
		if err != nil {
			return nil, err
		}
		p.signer = s
	}
	c := min(o.C, o.N)
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		samples errorSamples
	)
	workers := make([]*worker, c)
	start := time.Now()
	for i := range workers {
		w := &worker{
			plan:      p,
			samples:   &samples,
			rng:       mrand.New(mrand.NewPCG(uint64(start.UnixNano()), uint64(i))),
			latencies: make([]time.Duration, 0, o.N/c+1),
		}
		workers[i] = w
		wg.Go(func() {
			for {
				n := next.Add(1) - 1
				if n >= int64(o.N) {
					return
				}
				w.send(n)
			}
		})
	}
	wg.Wait()
	res := &result{Elapsed: time.Since(start)}

	// Close the connections still open outside of the measured time.
	for _, w := range workers {
		if w.c != nil {
			wg.Go(func() { w.c.quit() })
		}
		res.Sent += w.sent
		res.Errors += w.errors
		res.Retries += w.retries
		res.Latencies = append(res.Latencies, w.latencies...)
	}
	wg.Wait()
	slices.Sort(res.Latencies)
	res.ErrorSamples = samples.list
	return res, nil
}

// errorSamples collects the first few distinct error texts.
type errorSamples struct {
	mu   sync.Mutex
	list []errorSample
}

func (s *errorSamples) add(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.list {
		if s.list[i].Text == text {
			s.list[i].Count++
			return
		}
	}
	if len(s.list) < maxErrorSamples {
		s.list = append(s.list, errorSample{Text: text, Count: 1})
	}
}

// worker is one sender goroutine with its connection.
type worker struct {
	plan    *plan
	samples *errorSamples
	rng     *mrand.Rand
	c       *client // open connection, or nil
	buf     []byte  // message buffer, reused

	sent, errors, retries int
	latencies             []time.Duration
}

// send builds and delivers message n, recording the outcome.
func (w *worker) send(n int64) {
	w.buf = w.plan.msgs.build(w.buf[:0], n, time.Now(), w.rng)
	if w.plan.signer != nil {
		signed, err := w.plan.signer.sign(w.buf)
		if err != nil {
			w.sent++
			w.errors++
			w.samples.add("dkim: " + err.Error())
			return
		}
		w.buf = signed
	}
	w.sent++
	lat, err := w.deliver(w.buf)
	if err != nil {
		w.errors++
		w.samples.add(err.Error())
		return
	}
	w.latencies = append(w.latencies, lat)
}

// deliver sends msg, connecting first if needed, and returns the transaction
// latency.
func (w *worker) deliver(msg []byte) (time.Duration, error) {
	p := w.plan
	for attempt := 0; ; attempt++ {
		fresh := w.c == nil
		if fresh {
			c, err := dial(p)
			if err != nil {
				return 0, err
			}
			w.c = c
		}
		lat, err := w.c.transaction(p, msg)
		if err == nil {
			if !p.opts.Reuse {
				w.c.quit()
				w.c = nil
			}
			return lat, nil
		}
		var re *replyError
		if errors.As(err, &re) && re.code != 421 {
			// The server refused something but the connection is usable.
			if !p.opts.Reuse {
				w.c.quit()
				w.c = nil
			} else if w.c.reset() != nil {
				w.c.close()
				w.c = nil
			}
			return 0, err
		}
		w.c.close()
		w.c = nil
		// A reused connection may have been closed by the server in the
		// meantime (idle timeout, per-connection limit): retry once.
		var ie *ioError
		if !fresh && attempt == 0 && errors.As(err, &ie) && ie.stage == "MAIL FROM" && !isTimeout(ie.err) {
			w.retries++
			continue
		}
		return 0, err
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// replyError is an unexpected reply from the server.
type replyError struct {
	stage string // command, e.g. "RCPT TO"
	code  int
	text  string
}

func (e *replyError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.stage, e.code, e.text)
}

// ioError is a network or protocol failure.
type ioError struct {
	stage string
	err   error
}

func (e *ioError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// client is a minimal SMTP client connection.
type client struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
}

func newClient(conn net.Conn, timeout time.Duration) *client {
	return &client{
		conn:    conn,
		r:       bufio.NewReaderSize(conn, 4096),
		w:       bufio.NewWriterSize(conn, 32<<10),
		timeout: timeout,
	}
}

// dial opens a connection and performs the greeting, EHLO, TLS and AUTH.
func dial(p *plan) (*client, error) {
	o := &p.opts
	d := net.Dialer{Timeout: o.Timeout}
	conn, err := d.Dial("tcp", o.Addr)
	if err != nil {
		return nil, &ioError{"connect", err}
	}
	c := newClient(conn, o.Timeout)
	if err := c.setup(p); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *client) setup(p *plan) error {
	o := &p.opts
	if o.TLS {
		if err := c.handshake(p.tlsConfig); err != nil {
			return err
		}
	}
	c.deadline()
	if _, err := c.readReply("greeting", 2); err != nil {
		return err
	}
	if err := c.hello(p); err != nil {
		return err
	}
	if o.StartTLS {
		if err := c.cmd("STARTTLS", "STARTTLS\r\n", 2); err != nil {
			return err
		}
		if err := c.handshake(p.tlsConfig); err != nil {
			return err
		}
		if err := c.hello(p); err != nil {
			return err
		}
	}
	if p.auth != "" {
		if err := c.cmd("AUTH", p.auth, 2); err != nil {
			return err
		}
	}
	return nil
}

// hello sends EHLO, falling back to HELO if the server refuses it.
func (c *client) hello(p *plan) error {
	err := c.cmd("EHLO", p.ehlo, 2)
	var re *replyError
	if errors.As(err, &re) && re.code >= 500 && re.code != 554 {
		err = c.cmd("HELO", p.helo, 2)
	}
	return err
}

// handshake switches the connection to TLS.
func (c *client) handshake(cfg *tls.Config) error {
	tc := tls.Client(c.conn, cfg)
	c.conn = tc
	c.deadline()
	if err := tc.Handshake(); err != nil {
		return &ioError{"TLS handshake", err}
	}
	c.r.Reset(tc)
	c.w.Reset(tc)
	return nil
}

func (c *client) deadline() {
	if c.timeout > 0 {
		c.conn.SetDeadline(time.Now().Add(c.timeout))
	}
}

// cmd sends line and reads a reply whose code must be in class want (2 for
// 2xx, 3 for 3xx).
func (c *client) cmd(stage, line string, want int) error {
	c.deadline()
	c.w.WriteString(line)
	if err := c.w.Flush(); err != nil {
		return &ioError{stage, err}
	}
	_, err := c.readReply(stage, want)
	return err
}

// readReply reads a possibly multi-line reply and checks its class.
func (c *client) readReply(stage string, want int) (int, error) {
	var text []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				err = io.ErrUnexpectedEOF
			}
			return 0, &ioError{stage, err}
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 || (len(line) > 3 && line[3] != ' ' && line[3] != '-') {
			return 0, &ioError{stage, fmt.Errorf("malformed reply %q", line)}
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 100 || code > 599 {
			return 0, &ioError{stage, fmt.Errorf("malformed reply %q", line)}
		}
		if len(line) > 4 {
			text = append(text, line[4:])
		}
		if len(line) == 3 || line[3] == ' ' {
			if code/100 != want {
				return code, &replyError{stage: stage, code: code, text: strings.Join(text, " ")}
			}
			return code, nil
		}
	}
}

// transaction sends one message and returns its latency, from MAIL FROM to
// the reply to the end of DATA.
func (c *client) transaction(p *plan, msg []byte) (time.Duration, error) {
	start := time.Now()
	if err := c.cmd("MAIL FROM", p.mail, 2); err != nil {
		return 0, err
	}
	for _, r := range p.rcpts {
		if err := c.cmd("RCPT TO", r, 2); err != nil {
			return 0, err
		}
	}
	if err := c.cmd("DATA", "DATA\r\n", 3); err != nil {
		return 0, err
	}
	c.deadline()
	writeDotStuffed(c.w, msg)
	if err := c.w.Flush(); err != nil {
		return 0, &ioError{"end of DATA", err}
	}
	if _, err := c.readReply("end of DATA", 2); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// reset abandons the current transaction.
func (c *client) reset() error {
	return c.cmd("RSET", "RSET\r\n", 2)
}

// quit says goodbye (ignoring the answer) and closes the connection.
func (c *client) quit() {
	c.cmd("QUIT", "QUIT\r\n", 2)
	c.close()
}

func (c *client) close() {
	c.conn.Close()
}

// writeDotStuffed writes msg, whose lines end with CRLF, as DATA content:
// lines starting with "." get an extra ".", and the terminating ".\r\n" is
// appended.
func writeDotStuffed(w *bufio.Writer, msg []byte) {
	needCRLF := len(msg) > 0 && !bytes.HasSuffix(msg, []byte("\r\n"))
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line = msg[:i+1]
		}
		if line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		msg = msg[len(line):]
	}
	if needCRLF {
		// Not the case for messages from msgBuilder, which end with CRLF.
		w.WriteString("\r\n")
	}
	w.WriteString(".\r\n")
}

// msgBuilder generates the test messages.
type msgBuilder struct {
	from     string
	toHeader string // value of the To header, folded
	domain   string // right-hand side of Message-IDs
	runID    string // makes Message-IDs unique across runs
	size     int
}

func newMsgBuilder(from string, to []string, size int) *msgBuilder {
	domain := from[strings.LastIndexByte(from, '@')+1:]
	if domain == "" || strings.Trim(domain, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != "" {
		domain = "smtpload.invalid"
	}
	return &msgBuilder{
		from:     from,
		toHeader: strings.Join(to, ",\r\n "),
		domain:   domain,
		runID:    strings.ToLower(rand.Text()[:12]),
		size:     size,
	}
}

// build appends message n, of about b.size bytes, to dst.
func (b *msgBuilder) build(dst []byte, n int64, now time.Time, rng *mrand.Rand) []byte {
	start := len(dst)
	dst = append(dst, "Date: "...)
	dst = now.AppendFormat(dst, time.RFC1123Z)
	dst = append(dst, "\r\nFrom: "...)
	dst = append(dst, b.from...)
	dst = append(dst, "\r\nTo: "...)
	dst = append(dst, b.toHeader...)
	dst = append(dst, "\r\nSubject: smtpload message "...)
	dst = strconv.AppendInt(dst, n, 10)
	dst = append(dst, "\r\nMessage-ID: <smtpload."...)
	dst = append(dst, b.runID...)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, n, 10)
	dst = append(dst, '@')
	dst = append(dst, b.domain...)
	dst = append(dst, ">\r\n"+
		"MIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=us-ascii\r\n"+
		"Content-Transfer-Encoding: 7bit\r\n"+
		"\r\n"...)
	return appendBody(dst, b.size-(len(dst)-start), rng)
}

// maxLine is the maximum length of a body line, without CRLF.
const maxLine = 76

var words = strings.Fields(`lorem ipsum dolor sit amet, consectetur adipiscing elit,
	sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim
	ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip
	ex ea commodo consequat. Duis aute irure dolor in reprehenderit (in
	voluptate) velit esse cillum dolore eu fugiat nulla pariatur! Excepteur
	sint occaecat cupidatat non proident; sunt in culpa qui officia deserunt
	mollit anim id est laborum? facteur: 42 "mail" <smtp> 100% x=y+z #1 @home`)

// appendBody appends n bytes (n+1 if n == 1) of printable text in CRLF-ended
// lines of at most maxLine characters. Every eighth line starts with ".".
func appendBody(dst []byte, n int, rng *mrand.Rand) []byte {
	for line := 0; n > 0; line++ {
		if n <= 2 {
			return append(dst, "\r\n"...)
		}
		l := min(maxLine-16+rng.IntN(17), n-2)
		if rem := n - (l + 2); rem > 0 && rem < 3 {
			l -= 3 // leave room for one more non-empty line
		}
		n -= l + 2
		lineStart := len(dst)
		if line%8 == 3 {
			dst = append(dst, '.')
		}
		textStart := len(dst)
		for room := l - (len(dst) - lineStart); room > 0; room = l - (len(dst) - lineStart) {
			if len(dst) > textStart {
				if room == 1 {
					dst = append(dst, '.')
					break
				}
				dst = append(dst, ' ')
				room--
			}
			w := words[rng.IntN(len(words))]
			dst = append(dst, w[:min(len(w), room)]...)
		}
		dst = append(dst, "\r\n"...)
	}
	return dst
}
