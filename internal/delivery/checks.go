package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

// The inbound checks run at the SMTP stage where they belong (connect,
// HELO, MAIL, RCPT, end of DATA). Each is a Check with one or more of the
// stage methods below; Checks runs them in order and turns what they say
// into one answer per stage. A check that errs or outlives its timeout
// (DNS down, a daemon that hangs) is handled by its OnError policy: by
// default the client is told to try again later, so mail is neither
// accepted nor refused blindly.

// Conn is the SMTP client as the checks see it.
type Conn struct {
	Listener string     // "smtp" (MX), "submission", "lmtp"
	IP       netip.Addr // the client's address; invalid for a non-IP peer
	// RDNS is the client's verified reverse DNS name (a PTR name that
	// resolves back to IP, RFC 8601 §3 iprev), "" when it has none or it
	// was not looked up.
	RDNS     string
	Helo     string               // the EHLO/HELO argument
	TLS      *tls.ConnectionState // nil without TLS
	AuthUser string               // the authenticated account, "" for none
	// Trusted: the client is in checks.trusted_networks (a local relay,
	// a webmail): SPF, DMARC, DNS lists and greylisting leave it alone.
	Trusted bool
	// Results of the connect and HELO checks (iprev, DNSBL); every
	// transaction of the connection starts with them.
	Results []authres.Result
}

// TLSSummary is "TLS1.3 TLS_AES_128_GCM_SHA256", or "" without TLS, for
// Received and logs.
func (c *Conn) TLSSummary() string {
	if c.TLS == nil {
		return ""
	}
	return strings.ReplaceAll(tls.VersionName(c.TLS.Version), " ", "") + " " + tls.CipherSuiteName(c.TLS.CipherSuite)
}

// Transaction is one message's envelope as the checks see it, and what
// they have found so far. Checks of later stages read what earlier ones
// recorded (DMARC reads the SPF and DKIM results).
type Transaction struct {
	Conn   *Conn
	From   string            // reverse-path, "" for the null sender
	Params map[string]string // MAIL parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH), upper-case names
	Rcpts  []*Recipient

	// What the checks said, in order.
	Results []authres.Result // for Authentication-Results (RFC 8601)
	Headers []string         // other header fields to add, "Name: value"
	Folder  string           // where the message goes ("" = INBOX); the last check to set it wins
	Score   float64          // the sum of the checks' spam scores
	// TrustedForwarder is the domain of a forwarder whose ARC chain passed
	// and whose results this server trusts (RFC 8617 §7.2): DMARC lets its
	// mail through though SPF and DKIM no longer align.
	TrustedForwarder string
}

// Recipient is one accepted RCPT: its route, its parameters, and the
// address that reached each of its accounts (an alias, a +tag), which
// later per-recipient steps (Sieve, the spam filter) file by.
type Recipient struct {
	Address string            // as given in RCPT TO
	Params  map[string]string // RCPT parameters (NOTIFY, ORCPT)
	Route   Route
}

// Verdict is what a check decides at one stage.
type Verdict struct {
	// Reply, when set, ends the stage: a 5xx refuses, a 4xx asks the
	// client to try again later. Nil accepts.
	Reply   *mail.Error
	Results []authres.Result // recorded for Authentication-Results
	Headers []string         // header fields to add, "Name: value"
	Folder  string           // file the message here (e.g. "Junk"); "" leaves it
	Score   float64          // added to the transaction's spam score
	// TrustedForwarder, when set, is recorded in the transaction (the ARC
	// check sets it).
	TrustedForwarder string
	// RDNS, when set at connect, is recorded as Conn.RDNS (iprev). A
	// check reports it here rather than writing the Conn: a check that
	// outlives its timeout must not change what the session reads.
	RDNS string
}

// Check is one inbound check. It implements one or more of
// ConnectCheck, HeloCheck, MailCheck, RcptCheck and DataCheck.
type Check interface {
	Name() string // "spf", "dkim", "dnsbl" …: logs, replies, policies
}

// ConnectCheck runs when a client connects, before the banner.
type ConnectCheck interface {
	Check
	Connect(ctx context.Context, c *Conn) (Verdict, error)
}

// HeloCheck runs at EHLO/HELO.
type HeloCheck interface {
	Check
	Helo(ctx context.Context, c *Conn) (Verdict, error)
}

// MailCheck runs at MAIL FROM.
type MailCheck interface {
	Check
	Mail(ctx context.Context, tx *Transaction) (Verdict, error)
}

// RcptCheck runs at each RCPT TO that routing accepted; its verdict is
// for that recipient alone.
type RcptCheck interface {
	Check
	Rcpt(ctx context.Context, tx *Transaction, r *Recipient) (Verdict, error)
}

// DataCheck runs at the end of DATA, over the received message.
type DataCheck interface {
	Check
	Data(ctx context.Context, tx *Transaction, msg *Message) (Verdict, error)
}

// Message is a received message as the DATA checks see it.
type Message struct {
	Received
	open func(ctx context.Context) (store.Blob, error)
}

// Open returns the message's bytes, from the start (the Received header
// this server added included).
func (m *Message) Open(ctx context.Context) (store.Blob, error) { return m.open(ctx) }

// NewMessage makes msg readable by the DATA checks.
func (p *Pipeline) NewMessage(msg Received) *Message {
	return &Message{Received: msg, open: func(ctx context.Context) (store.Blob, error) {
		return p.store.Blobs().Open(ctx, msg.BlobID)
	}}
}

// OnError is what a stage answers when a check fails or times out.
type OnError int

const (
	// TempfailOnError answers 451 4.4.3: the client retries later
	// (RFC 3463 §3.5, X.4.3: a directory server failure such as DNS).
	TempfailOnError OnError = iota
	// AcceptOnError goes on as if the check had not run (it is logged).
	AcceptOnError
)

// ParseOnError reads "tempfail" or "accept".
func ParseOnError(s string) (OnError, error) {
	switch strings.ToLower(s) {
	case "", "tempfail":
		return TempfailOnError, nil
	case "accept":
		return AcceptOnError, nil
	}
	return 0, fmt.Errorf("on_error %q: want \"tempfail\" or \"accept\"", s)
}

// DefaultCheckTimeout bounds one check at one stage.
const DefaultCheckTimeout = 30 * time.Second

// Checks runs a listener's checks. The zero value and nil run none.
type Checks struct {
	list     []Check
	onError  map[string]OnError // by check name; missing: TempfailOnError
	timeout  time.Duration
	authServ string // the authserv-id of Authentication-Results (RFC 8601 §2.5)
	log      *slog.Logger
}

// NewChecks returns the checks of a listener, run in the order given.
// authServID names this server in Authentication-Results (the hostname).
func NewChecks(authServID string, log *slog.Logger, list ...Check) *Checks {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checks{list: list, onError: map[string]OnError{}, timeout: DefaultCheckTimeout,
		authServ: authServID, log: log}
}

// SetOnError sets the policy of the named check.
func (c *Checks) SetOnError(name string, p OnError) { c.onError[name] = p }

// SetTimeout sets how long one check may take at one stage.
func (c *Checks) SetTimeout(d time.Duration) {
	if d > 0 {
		c.timeout = d
	}
}

// AuthServID is the authserv-id of the Authentication-Results header.
func (c *Checks) AuthServID() string {
	if c == nil {
		return ""
	}
	return c.authServ
}

// Connect runs the connect checks; a non-nil reply refuses the client.
func (c *Checks) Connect(ctx context.Context, conn *Conn) *mail.Error {
	return runStage(c, ctx, conn.record, func(ctx context.Context, cc ConnectCheck) (Verdict, error) {
		return cc.Connect(ctx, conn)
	})
}

// Helo runs the HELO checks.
func (c *Checks) Helo(ctx context.Context, conn *Conn) *mail.Error {
	return runStage(c, ctx, conn.record, func(ctx context.Context, hc HeloCheck) (Verdict, error) {
		return hc.Helo(ctx, conn)
	})
}

// Mail runs the MAIL checks, recording their results in tx.
func (c *Checks) Mail(ctx context.Context, tx *Transaction) *mail.Error {
	return runStage(c, ctx, tx.record, func(ctx context.Context, mc MailCheck) (Verdict, error) {
		return mc.Mail(ctx, tx)
	})
}

// Rcpt runs the RCPT checks for r.
func (c *Checks) Rcpt(ctx context.Context, tx *Transaction, r *Recipient) *mail.Error {
	return runStage(c, ctx, tx.record, func(ctx context.Context, rc RcptCheck) (Verdict, error) {
		return rc.Rcpt(ctx, tx, r)
	})
}

// Data runs the end-of-DATA checks, recording their results in tx.
func (c *Checks) Data(ctx context.Context, tx *Transaction, msg *Message) *mail.Error {
	return runStage(c, ctx, tx.record, func(ctx context.Context, dc DataCheck) (Verdict, error) {
		return dc.Data(ctx, tx, msg)
	})
}

// runStage runs, in order, every check that has a stage S (ConnectCheck,
// MailCheck, …) and stops at the first reply. Each verdict is given to
// record. Checks without the stage cost nothing: no goroutine, no timer.
func runStage[S any](c *Checks, ctx context.Context, record func(Verdict), run func(context.Context, S) (Verdict, error)) *mail.Error {
	if c == nil {
		return nil
	}
	for _, ch := range c.list {
		sc, ok := ch.(S)
		if !ok {
			continue
		}
		v, err := c.runOne(ctx, func(ctx context.Context) (Verdict, error) { return run(ctx, sc) })
		if err != nil {
			if reply := c.failed(ch, err); reply != nil {
				return reply
			}
			continue
		}
		record(v)
		if v.Reply != nil {
			c.log.Info("check refused", "check", ch.Name(), "reply", v.Reply.Error())
			return v.Reply
		}
	}
	return nil
}

// errCheckTimeout is the error of a check that did not answer in time.
var errCheckTimeout = errors.New("check timed out")

// runOne runs fn under the check timeout. A check that ignores its
// context is left behind: the session goes on without it.
func (c *Checks) runOne(ctx context.Context, fn func(context.Context) (Verdict, error)) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	type out struct {
		v   Verdict
		err error
	}
	done := make(chan out, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- out{err: fmt.Errorf("panic: %v", r)}
			}
		}()
		v, err := fn(ctx)
		done <- out{v, err}
	}()
	select {
	case o := <-done:
		return o.v, o.err
	case <-ctx.Done():
		return Verdict{}, errCheckTimeout
	}
}

// failed applies the check's OnError policy to err.
func (c *Checks) failed(ch Check, err error) *mail.Error {
	if c.onError[ch.Name()] == AcceptOnError {
		c.log.Warn("check failed, accepting", "check", ch.Name(), "err", err)
		return nil
	}
	c.log.Warn("check failed, answering 451", "check", ch.Name(), "err", err)
	return mail.Errorf(451, [3]int{4, 4, 3}, "Temporary failure of the %s check, try again later", ch.Name())
}

// record keeps a connect or HELO check's results; a refusal ends the
// connection, and headers, folders and scores belong to transactions.
func (c *Conn) record(v Verdict) {
	c.Results = append(c.Results, v.Results...)
	if v.RDNS != "" {
		c.RDNS = v.RDNS
	}
}

// NewTransaction starts a transaction on conn with the results of its
// connect and HELO checks.
func NewTransaction(conn *Conn, from string, params map[string]string) *Transaction {
	return &Transaction{Conn: conn, From: from, Params: params, Results: append([]authres.Result(nil), conn.Results...)}
}

func (tx *Transaction) record(v Verdict) {
	tx.Results = append(tx.Results, v.Results...)
	tx.Headers = append(tx.Headers, v.Headers...)
	if v.Folder != "" {
		tx.Folder = v.Folder
	}
	if v.TrustedForwarder != "" {
		tx.TrustedForwarder = v.TrustedForwarder
	}
	tx.Score += v.Score
}

// AuthenticationResults is the Authentication-Results header field of
// tx's results (RFC 8601 §2.2), folded before each result and without the
// final CRLF, or "" when no check recorded one.
func (c *Checks) AuthenticationResults(tx *Transaction) string {
	if c == nil || len(tx.Results) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Authentication-Results: ")
	b.WriteString(c.authServ)
	for _, r := range tx.Results {
		// Format("", r) is "; method=result props".
		one := strings.TrimPrefix(authres.Format("", []authres.Result{r}), "; ")
		b.WriteString(";\r\n\t")
		b.WriteString(strings.TrimSpace(headerSafe(one)))
	}
	return b.String()
}

// headerSafe replaces control characters, which a value taken from the
// message or the client could carry, so a field stays one field.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
