package smtpd

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/testutil"
	"facteur.dev/facteur/internal/testutil/fixture"
)

const password = fixture.Password

// env is a store with example.test, alice and bob, and servers on loopback.
type env struct {
	t         testing.TB
	store     store.Store
	pipeline  *delivery.Pipeline
	auth      *auth.Authenticator
	clientTLS *tls.Config
	serverTLS *tls.Config
}

func newEnv(t testing.TB) *env {
	t.Helper()
	s, _ := fixture.Store(t, t.TempDir())
	st, ct := testutil.TLSConfigs(t)
	return &env{t: t, store: s, pipeline: delivery.New(s, nil),
		auth:      auth.New(auth.StoreLookup{Accounts: s}, auth.Options{FailureDelay: time.Millisecond, MaxFailuresPerAccount: 3, MaxFailuresPerIP: 100}),
		clientTLS: ct, serverTLS: st}
}

// serve starts a server in mode and returns its address.
func (e *env) serve(mode Mode, implicit bool, tweak func(*Options)) string {
	e.t.Helper()
	o := Options{Mode: mode, Hostname: "mx.example.test", TLS: e.serverTLS, ImplicitTLS: implicit,
		Pipeline: e.pipeline, Auth: e.auth, MaxMessageBytes: 64 << 10, MaxRecipients: 5, MaxConnsPerIP: 5}
	if tweak != nil {
		tweak(&o)
	}
	srv := New(o)
	l := testutil.Listen(e.t)
	go srv.Serve(l)
	e.t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func (e *env) inbox(user string) (store.Mailbox, []store.Message) {
	e.t.Helper()
	return e.mailbox(user, "INBOX")
}

// mailbox returns one of user's mailboxes and its messages, parsed.
func (e *env) mailbox(user, name string) (store.Mailbox, []store.Message) {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.store.LookupAccount(ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	mb, err := e.store.GetMailbox(ctx, a.ID, name)
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, err := e.store.Messages(ctx, mb.ID, true)
	if err != nil {
		e.t.Fatal(err)
	}
	return mb, msgs
}

func (e *env) body(m store.Message) string {
	e.t.Helper()
	b, err := store.OpenMessage(context.Background(), e.store.Blobs(), &m)
	if err != nil {
		e.t.Fatal(err)
	}
	defer b.Close()
	data, _ := io.ReadAll(b)
	return string(data)
}

// dialTLS connects with implicit TLS and says EHLO.
func (e *env) dialTLS(addr string) *testutil.Conn {
	e.t.Helper()
	conn, err := tls.Dial("tcp", addr, e.clientTLS)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	c := testutil.Wrap(e.t, conn)
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	return c
}

func msg(from, to, subject string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%d@test>\r\n\r\nHello.\r\n.\r\n",
		from, to, subject, time.Now().UnixNano())
}

// sendData runs DATA with body (which ends with "\r\n.\r\n") and returns the reply.
func sendData(c *testutil.Conn, body string) string {
	c.Expect("DATA", "354")
	c.Raw().Write([]byte(body))
	return c.Reply()
}

func TestMXDeliversToLocalUser(t *testing.T) {
	e := newEnv(t)
	c := testutil.Dial(t, e.serve(MX, false, nil))
	c.Expect("", "220")
	caps := c.Expect("EHLO client.example", "250")
	for _, want := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING", "ENHANCEDSTATUSCODES", "STARTTLS", "SIZE 65537"} { // go-smtp announces its own limit, one byte over ours (server.go)
		if !strings.Contains(caps, want) {
			t.Errorf("EHLO lacks %s: %q", want, caps)
		}
	}
	if strings.Contains(caps, "AUTH") {
		t.Errorf("MX offers AUTH: %q", caps)
	}
	c.Expect("STARTTLS", "220")
	c.StartTLS(e.clientTLS)
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	if r := sendData(c, msg("sender@remote.example", "alice@example.test", "hi")); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA: %q", r)
	}
	mb, msgs := e.inbox("alice@example.test")
	if mb.Messages != 1 || len(msgs) != 1 {
		t.Fatalf("INBOX has %d messages", mb.Messages)
	}
	body := e.body(msgs[0])
	if !strings.HasPrefix(body, "Received: from client.example ([127.0.0.1])\r\n\t(using TLSv1.3 with cipher TLS_") {
		t.Errorf("Received header: %q", body[:200])
	}
	if !strings.Contains(body, "by mx.example.test (Facteur) with ESMTPS id ") || !strings.Contains(body, "for <alice@example.test>;") {
		t.Errorf("Received header: %q", body[:300])
	}
	if msgs[0].Parsed.Envelope.Subject != "hi" {
		t.Errorf("parsed subject %q", msgs[0].Parsed.Envelope.Subject)
	}
}

func TestMXRefusals(t *testing.T) {
	e := newEnv(t)
	c := testutil.Dial(t, e.serve(MX, false, nil))
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	c.Expect("RCPT TO:<nobody@example.test>", "550 5.1.1")
	c.Expect("RCPT TO:<victim@elsewhere.example>", "550 5.7.1")
	c.Expect("RCPT TO:<alice+news@example.test>", "250")
	for i := 0; i < 4; i++ {
		c.Expect("RCPT TO:<bob@example.test>", "250")
	}
	c.Expect("RCPT TO:<bob@example.test>", "452 4.5.3") // MaxRecipients = 5
	c.Expect("RSET", "250")
	c.Expect("MAIL FROM:<sender@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 70) + ".\r\n"
	if r := sendData(c, big); !strings.HasPrefix(r, "552 5.3.4") {
		t.Fatalf("oversized message: %q", r)
	}
	if mb, _ := e.inbox("alice@example.test"); mb.Messages != 0 {
		t.Fatalf("refused messages were stored: %d", mb.Messages)
	}
}

func TestPlusAddressingAliasesAndCatchAll(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.store.AddAlias(ctx, "team@example.test", []string{"alice@example.test", "bob@example.test"})
	e.store.AddAlias(ctx, "loop1@example.test", []string{"loop2@example.test"})
	e.store.AddAlias(ctx, "loop2@example.test", []string{"loop1@example.test"})
	addr := e.serve(MX, false, nil)
	send := func(rcpt, want string) {
		t.Helper()
		c := testutil.Dial(t, addr)
		c.Expect("", "220")
		c.Expect("EHLO client.example", "250")
		c.Expect("MAIL FROM:<s@remote.example>", "250")
		if r := c.Expect("RCPT TO:<"+rcpt+">", want); !strings.HasPrefix(r, "250") {
			return
		}
		if r := sendData(c, msg("s@remote.example", rcpt, "x")); !strings.HasPrefix(r, "250") {
			t.Fatalf("DATA to %s: %q", rcpt, r)
		}
	}
	send("alice+tag@example.test", "250")
	send("team@example.test", "250")
	send("loop1@example.test", "554 5.4.6")
	send("random@example.test", "550 5.1.1")
	e.store.AddAlias(ctx, "@example.test", []string{"bob@example.test"})
	send("random@example.test", "250")
	if mb, _ := e.inbox("alice@example.test"); mb.Messages != 2 {
		t.Errorf("alice has %d messages, want 2", mb.Messages)
	}
	if mb, _ := e.inbox("bob@example.test"); mb.Messages != 2 {
		t.Errorf("bob has %d messages, want 2", mb.Messages)
	}
}

func TestDuplicateRecipientsGetOneCopy(t *testing.T) {
	e := newEnv(t)
	e.store.AddAlias(context.Background(), "both@example.test", []string{"alice@example.test"})
	c := testutil.Dial(t, e.serve(MX, false, nil))
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<s@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	c.Expect("RCPT TO:<both@example.test>", "250")
	sendData(c, msg("s@remote.example", "alice@example.test", "once"))
	if mb, _ := e.inbox("alice@example.test"); mb.Messages != 1 {
		t.Fatalf("alice has %d copies", mb.Messages)
	}
}

func TestQuotaFull(t *testing.T) {
	e := newEnv(t)
	e.store.SetQuota(context.Background(), "alice@example.test", 100)
	c := testutil.Dial(t, e.serve(MX, false, nil))
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<s@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	if r := sendData(c, msg("s@remote.example", "alice@example.test", "too big for quota")); !strings.HasPrefix(r, "452 4.2.2") {
		t.Fatalf("over quota: %q", r)
	}
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func TestSubmissionRequiresTLSForAuth(t *testing.T) {
	e := newEnv(t)
	c := testutil.Dial(t, e.serve(Submission, false, nil))
	c.Expect("", "220")
	caps := c.Expect("EHLO client.example", "250")
	if strings.Contains(caps, "AUTH") {
		t.Fatalf("AUTH offered before STARTTLS: %q", caps)
	}
	c.Expect("AUTH PLAIN "+plain("alice@example.test", password), "523 5.7.10")
	c.Expect("MAIL FROM:<alice@example.test>", "530 5.7.0")
	c.Expect("STARTTLS", "220")
	c.StartTLS(e.clientTLS)
	caps = c.Expect("EHLO client.example", "250")
	if !strings.Contains(caps, "AUTH PLAIN LOGIN SCRAM-SHA-256") {
		t.Fatalf("AUTH not offered after STARTTLS: %q", caps)
	}
	c.Expect("AUTH PLAIN "+plain("alice@example.test", "wrong"), "535 5.7.8")
	c.Expect("AUTH PLAIN "+plain("alice@example.test", password), "235")
	c.Expect("MAIL FROM:<bob@example.test>", "550 5.7.1")
	c.Expect("MAIL FROM:<alice@example.test>", "250")
	c.Expect("RCPT TO:<bob@example.test>", "250")
	c.Expect("RCPT TO:<friend@remote.example>", "250")
	if r := sendData(c, msg("bob@example.test", "bob@example.test", "forged")); !strings.HasPrefix(r, "550 5.7.1") {
		t.Fatalf("forged From header: %q", r)
	}
	c.Expect("MAIL FROM:<alice@example.test>", "250")
	c.Expect("RCPT TO:<bob@example.test>", "250")
	c.Expect("RCPT TO:<friend@remote.example>", "250")
	if r := sendData(c, msg("alice@example.test", "bob@example.test", "hello bob")); !strings.HasPrefix(r, "250") {
		t.Fatalf("submission: %q", r)
	}
	_, msgs := e.inbox("bob@example.test")
	if len(msgs) != 1 || !strings.Contains(e.body(msgs[0]), "with ESMTPSA") {
		t.Fatalf("bob's INBOX: %d messages", len(msgs))
	}
	q, _ := e.store.ListQueue(context.Background())
	if len(q) != 1 || q[0].Recipients[0] != "friend@remote.example" || q[0].Sender != "alice@example.test" {
		t.Fatalf("queue %+v", q)
	}
}

func TestSubmissionsImplicitTLSAndLogin(t *testing.T) {
	e := newEnv(t)
	e.store.AddAlias(context.Background(), "info@example.test", []string{"alice@example.test"})
	c := e.dialTLS(e.serve(Submission, true, nil))
	c.Expect("AUTH LOGIN", "334 VXNlcm5hbWU6")
	c.Expect(base64.StdEncoding.EncodeToString([]byte("alice@example.test")), "334 UGFzc3dvcmQ6")
	c.Expect(base64.StdEncoding.EncodeToString([]byte(password)), "235")
	c.Expect("MAIL FROM:<info@example.test>", "250") // an alias of alice's
	c.Expect("RCPT TO:<bob@example.test>", "250")
	if r := sendData(c, msg("info@example.test", "bob@example.test", "from alias")); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA: %q", r)
	}
}

func TestFailedLoginsAreLimited(t *testing.T) {
	e := newEnv(t)
	c := e.dialTLS(e.serve(Submission, true, nil))
	for i := 0; i < 3; i++ {
		c.Expect("AUTH PLAIN "+plain("alice@example.test", "wrong"), "535 5.7.8")
	}
	c.Expect("AUTH PLAIN "+plain("alice@example.test", password), "454 4.7.0")
	// Unknown users get the same answer as wrong passwords.
	c.Expect("AUTH PLAIN "+plain("nobody@example.test", "wrong"), "535 5.7.8")
}

func TestPlaintextNetworksAllowAuthWithoutTLS(t *testing.T) {
	e := newEnv(t)
	addr := e.serve(Submission, false, func(o *Options) {
		o.PlaintextNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	c := testutil.Dial(t, addr)
	c.Expect("", "220")
	if caps := c.Expect("EHLO webmail", "250"); !strings.Contains(caps, "AUTH PLAIN") {
		t.Fatalf("AUTH not offered to a plaintext network: %q", caps)
	}
	c.Expect("AUTH PLAIN "+plain("alice@example.test", password), "235")
}

func TestLMTPReplyPerRecipient(t *testing.T) {
	e := newEnv(t)
	e.store.SetQuota(context.Background(), "bob@example.test", 100)
	c := testutil.Dial(t, e.serve(LMTP, false, nil))
	c.Expect("", "220")
	c.Expect("LHLO front.example", "250")
	c.Expect("MAIL FROM:<s@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	c.Expect("RCPT TO:<bob@example.test>", "250")
	c.Expect("RCPT TO:<nobody@example.test>", "550 5.1.1")
	c.Expect("DATA", "354")
	c.Raw().Write([]byte(msg("s@remote.example", "alice@example.test", "lmtp")))
	c.Expect("", "250")       // alice
	c.Expect("", "452 4.2.2") // bob, over quota
	if mb, _ := e.inbox("alice@example.test"); mb.Messages != 1 {
		t.Fatalf("alice has %d", mb.Messages)
	}
}

func TestConnectionLimitPerIP(t *testing.T) {
	e := newEnv(t)
	addr := e.serve(MX, false, func(o *Options) { o.MaxConnsPerIP = 2 })
	for i := 0; i < 2; i++ {
		testutil.Dial(t, addr).Expect("", "220")
	}
	testutil.Dial(t, addr).Expect("", "421 4.7.0")
}

func TestPipelinedTransaction(t *testing.T) {
	e := newEnv(t)
	conn, err := net.Dial("tcp", e.serve(MX, false, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := testutil.Wrap(t, conn)
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	conn.Write([]byte("MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"))
	c.Expect("", "250")
	c.Expect("", "250")
	c.Expect("", "250")
	c.Expect("", "354")
	conn.Write([]byte(msg("s@remote.example", "alice@example.test", "pipelined")))
	c.Expect("", "250")
	if mb, _ := e.inbox("bob@example.test"); mb.Messages != 1 {
		t.Fatalf("bob has %d", mb.Messages)
	}
}

// TestSubmissionSCRAM runs a whole SCRAM-SHA-256 exchange (RFC 7677) over
// SMTP AUTH with the xdg-go/scram client.
func TestSubmissionSCRAM(t *testing.T) {
	e := newEnv(t)
	c := e.dialTLS(e.serve(Submission, true, nil))
	for _, tc := range []struct{ pass, want string }{{"wrong password", "535 5.7.8"}, {password, "235"}} {
		client, err := scram.SHA256.NewClient("alice@example.test", tc.pass, "")
		if err != nil {
			t.Fatal(err)
		}
		conv := client.NewConversation()
		first, _ := conv.Step("")
		reply := c.Expect("AUTH SCRAM-SHA-256 "+base64.StdEncoding.EncodeToString([]byte(first)), "334 ")
		for strings.HasPrefix(reply, "334 ") {
			ch, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(reply, "334 "))
			resp, err := conv.Step(string(ch))
			if err != nil { // the server's signature did not verify
				t.Fatalf("client step: %v", err)
			}
			c.Send(base64.StdEncoding.EncodeToString([]byte(resp)))
			reply = c.Reply()
		}
		if !strings.HasPrefix(reply, tc.want) {
			t.Fatalf("SCRAM with %q: %q, want %s", tc.pass, reply, tc.want)
		}
	}
	c.Expect("MAIL FROM:<alice@example.test>", "250")
}

// A mailbox already full is refused at RCPT, before the data is sent; one
// that fills up during DATA while another recipient got the message makes
// the whole transaction fail temporarily rather than drop a recipient.
func TestQuotaAtRcptAndPartialFailure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.store.SetQuota(ctx, "alice@example.test", 100)
	c := testutil.Dial(t, e.serve(MX, false, nil))
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<s@remote.example> SIZE=5000", "250")
	c.Expect("RCPT TO:<alice@example.test>", "452 4.2.2")
	c.Expect("RSET", "250")

	// Without SIZE the room left is unknown: accepted at RCPT, refused
	// once the data shows it does not fit.
	c.Expect("MAIL FROM:<s@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	c.Expect("RCPT TO:<bob@example.test>", "250")
	if r := sendData(c, msg("s@remote.example", "bob@example.test", "partial")); !strings.HasPrefix(r, "451 4.3.0") {
		t.Fatalf("partial failure: %q, want 451 4.3.0", r)
	}
	if mb, _ := e.inbox("bob@example.test"); mb.Messages != 1 {
		t.Fatalf("bob has %d messages", mb.Messages)
	}
}

func TestDisabledAccountAndAddressLiteral(t *testing.T) {
	e := newEnv(t)
	if _, err := e.store.CreateAccount(context.Background(), store.Account{Address: "gone@example.test", PasswordHash: "h", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	mx := testutil.Dial(t, e.serve(MX, false, nil))
	mx.Expect("", "220")
	mx.Expect("EHLO client.example", "250")
	mx.Expect("MAIL FROM:<s@remote.example>", "250")
	mx.Expect("RCPT TO:<gone@example.test>", "550 5.2.1")

	c := e.dialTLS(e.serve(Submission, true, nil))
	c.Expect("AUTH PLAIN "+plain("alice@example.test", password), "235")
	c.Expect("MAIL FROM:<alice@example.test>", "250")
	c.Expect("RCPT TO:<root@[127.0.0.1]>", "550 5.1.2")
	c.Expect("RCPT TO:<root@[IPv6:::1]>", "550 5.1.2")
}

// The From header of submitted mail is read strictly: every trick that
// could show a recipient someone else's address is refused.
func TestSubmissionFromHeaderTricks(t *testing.T) {
	e := newEnv(t)
	addr := e.serve(Submission, true, nil)
	bad := map[string]string{
		"two From fields":   "From: <alice@example.test>\r\nFrom: <bob@example.test>\r\n",
		"group syntax":      "From: friends: <bob@example.test>;\r\n",
		"junk after angle":  "From: <alice@example.test> bob@example.test\r\n",
		"two addresses":     "From: <alice@example.test>, <bob@example.test>\r\n",
		"no From":           "",
		"display name only": "From: Alice\r\n",
		// A lenient reader takes the line after the stray one for a field.
		"stray line then From": "From: <alice@example.test>\r\nnot a header line\r\nFrom: <bob@example.test>\r\n",
		"stray line first":     "junk\r\nFrom: <alice@example.test>\r\n",
		// Clients that show the name alone show bob's address.
		"address as name":         "From: \"bob@example.test\" <alice@example.test>\r\n",
		"address as bare name":    "From: bob@example.test <alice@example.test>\r\n",
		"encoded-word q":          "From: =?utf-8?q?bob=40example.test?= <alice@example.test>\r\n",
		"encoded-word b":          "From: =?utf-8?b?Ym9iQGV4YW1wbGUudGVzdA==?= <alice@example.test>\r\n",
		"full-width at sign":      "From: \"bob\uFF20example.test\" <alice@example.test>\r\n",
		"encoded-word other case": "From: =?ISO-8859-1?Q?bob=40example=2Etest?= <alice@example.test>\r\n",
	}
	for name, from := range bad {
		c := e.dialTLS(addr)
		c.Expect("AUTH PLAIN "+plain("alice@example.test", password), "235")
		c.Expect("MAIL FROM:<alice@example.test>", "250")
		c.Expect("RCPT TO:<bob@example.test>", "250")
		body := from + "To: <bob@example.test>\r\nSubject: t\r\n\r\nHi.\r\n.\r\n"
		if r := sendData(c, body); !strings.HasPrefix(r, "550") {
			t.Errorf("%s: %q, want 550", name, r)
		}
		c.Raw().Close()
	}
	c := e.dialTLS(addr)
	c.Expect("AUTH PLAIN "+plain("alice@example.test", password), "235")
	c.Expect("MAIL FROM:<alice@example.test>", "250")
	c.Expect("RCPT TO:<bob@example.test>", "250")
	body := "From: =?utf-8?q?Alice_L=C3=A9vy?= <Alice@Example.test>\r\nTo: <bob@example.test>\r\nSubject: t\r\n\r\nHi.\r\n.\r\n"
	if r := sendData(c, body); !strings.HasPrefix(r, "250") {
		t.Fatalf("a plain From with an encoded name: %q", r)
	}
	if mb, _ := e.inbox("bob@example.test"); mb.Messages != 1 {
		t.Fatalf("bob has %d messages, want 1", mb.Messages)
	}
}

// TestShutdownRefusesNewTransactions: once Shutdown has begun, a
// transaction under way finishes and is stored, and a new MAIL on an
// open session gets 421 4.3.2 (RFC 5321 §3.8) instead of starting one.
func TestShutdownRefusesNewTransactions(t *testing.T) {
	e := newEnv(t)
	srv := New(Options{Mode: MX, Hostname: "mx.example.test", Pipeline: e.pipeline, MaxConnsPerIP: 5})
	l := testutil.Listen(t)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	busy, idle := testutil.Dial(t, l.Addr().String()), testutil.Dial(t, l.Addr().String())
	for _, c := range []*testutil.Conn{busy, idle} {
		c.Expect("", "220")
		c.Expect("EHLO client.example", "250")
	}
	busy.Expect("MAIL FROM:<sender@remote.example>", "250")
	busy.Expect("RCPT TO:<alice@example.test>", "250")

	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { done <- srv.Shutdown(ctx) }()
	for !srv.closing.Load() {
		time.Sleep(time.Millisecond)
	}
	idle.Expect("MAIL FROM:<sender@remote.example>", "421 4.3.2")
	if r := sendData(busy, msg("sender@remote.example", "alice@example.test", "late")); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA of the transaction under way: %q", r)
	}
	busy.Expect("MAIL FROM:<sender@remote.example>", "421 4.3.2")
	busy.Expect("QUIT", "221")
	idle.Expect("QUIT", "221")
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if mb, _ := e.inbox("alice@example.test"); mb.Messages != 1 {
		t.Fatalf("INBOX has %d messages, want the one finished during shutdown", mb.Messages)
	}
}
