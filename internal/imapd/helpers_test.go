package imapd

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/sqlite"
	"facteur.dev/facteur/internal/testutil"
	"facteur.dev/facteur/internal/testutil/fixture"
)

const password = fixture.Password

// env is a store with example.test, alice and bob, and IMAP servers on
// loopback.
type env struct {
	t         testing.TB
	store     store.Store
	auth      *auth.Authenticator
	clientTLS *tls.Config
	serverTLS *tls.Config
	alice     store.Account
	dir       string
}

// reopen closes the store and opens it again, as a restarted server
// would find it (write-ahead log checkpointed).
func (e *env) reopen() {
	e.t.Helper()
	if err := e.store.Close(); err != nil {
		e.t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), e.dir, sqlite.Options{Fsync: false, Owner: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	e.store = s
	e.auth = auth.New(auth.StoreLookup{Accounts: s}, auth.Options{FailureDelay: time.Millisecond, HashParams: auth.Params{Memory: 1024, Time: 1, Threads: 1}})
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvIn(t, t.TempDir())
}

// newEnvIn is newEnv with the store in dir.
func newEnvIn(t testing.TB, dir string) *env {
	t.Helper()
	s, accounts := fixture.Store(t, dir)
	e := &env{t: t, store: s, dir: dir, alice: accounts[0]}
	e.serverTLS, e.clientTLS = testutil.TLSConfigs(t)
	e.auth = auth.New(auth.StoreLookup{Accounts: s}, auth.Options{FailureDelay: time.Millisecond, MaxFailuresPerAccount: 3, MaxFailuresPerIP: 100,
		HashParams: auth.Params{Memory: 1024, Time: 1, Threads: 1}})
	return e
}

// loopback lets tests log in without TLS.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// start starts a server (STARTTLS offered, logins allowed from loopback
// unless tweak changes it) and returns its address.
func (e *env) start(tweak func(*Options)) string {
	e.t.Helper()
	o := Options{Hostname: "imap.example.test", TLS: e.serverTLS, Store: e.store, Auth: e.auth,
		PlaintextNetworks: loopback}
	if tweak != nil {
		tweak(&o)
	}
	srv := New(o)
	l := testutil.Listen(e.t)
	go srv.Serve(l)
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

// testMessage is a small message with a subject.
func testMessage(n int) string {
	return fmt.Sprintf("From: Bob <bob@remote.test>\r\nTo: alice@example.test\r\nSubject: message %d\r\nMessage-ID: <%d@remote.test>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nbody %d\r\n", n, n, n)
}

// deliver stores raw messages in an account's mailbox, as the delivery
// pipeline would.
func (e *env) deliver(acct store.Account, mailbox string, msgs ...string) []store.Delivered {
	e.t.Helper()
	ctx := context.Background()
	var nms []store.NewMessage
	for _, raw := range msgs {
		w, err := e.store.Blobs().Create(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		io.WriteString(w, raw)
		id, size, err := w.Commit()
		if err != nil {
			e.t.Fatal(err)
		}
		p, err := message.Parse(strings.NewReader(raw))
		if err != nil {
			e.t.Fatal(err)
		}
		nms = append(nms, store.NewMessage{AccountID: acct.ID, Mailbox: mailbox, BlobID: id, Size: size, Parsed: p, InternalDate: time.Now()})
	}
	out, errs := e.store.Deliver(ctx, nms)
	for _, err := range errs {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

// conn is a raw IMAP conversation.
type conn struct {
	*testutil.Conn
	t testing.TB
}

func (e *env) dial(addr string) *conn {
	c := &conn{Conn: testutil.Dial(e.t, addr), t: e.t}
	if g := c.Line(); !strings.HasPrefix(g, "* OK ") {
		e.t.Fatalf("greeting %q", g)
	}
	return c
}

// cmd sends "tag command" and returns the untagged lines and the tagged
// line; it fails unless the tagged status is want.
func (c *conn) cmd(tag, command, want string) ([]string, string) {
	c.t.Helper()
	c.Send(tag + " " + command)
	return c.until(tag, want)
}

func (c *conn) until(tag, want string) ([]string, string) {
	c.t.Helper()
	var lines []string
	for {
		l := c.Line()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" "+want) {
				c.t.Fatalf("tagged %q, want %s; untagged:\n%s", l, want, strings.Join(lines, "\n"))
			}
			return lines, l
		}
		lines = append(lines, l)
	}
}

func (c *conn) login() {
	c.t.Helper()
	c.cmd("L", `LOGIN alice@example.test "`+password+`"`, "OK")
}

func has(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// authAccount is alice as auth returns her.
func authAccount(e *env) auth.Account {
	return auth.Account{ID: e.alice.ID, Address: e.alice.Address}
}

// loggedIn starts a server and returns alice's logged-in session.
func loggedIn(t *testing.T) *conn {
	t.Helper()
	e := newEnv(t)
	c := e.dial(e.start(nil))
	c.login()
	return c
}
