package pop3d

import (
	"context"
	"crypto/tls"
	"net/netip"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/testutil"
	"facteur.dev/facteur/internal/testutil/fixture"
)

const password = fixture.Password

// env is a store with example.test, alice and bob, and POP3 servers on
// loopback sharing one lock set.
type env struct {
	t         testing.TB
	store     store.Store
	auth      *auth.Authenticator
	locks     *Locks
	clientTLS *tls.Config
	serverTLS *tls.Config
}

func newEnv(t testing.TB) *env {
	t.Helper()
	s, _ := fixture.Store(t, t.TempDir())
	st, ct := testutil.TLSConfigs(t)
	return &env{t: t, store: s, locks: NewLocks(), clientTLS: ct, serverTLS: st,
		auth: auth.New(auth.StoreLookup{Accounts: s}, auth.Options{FailureDelay: time.Millisecond, MaxFailuresPerAccount: 3, MaxFailuresPerIP: 100})}
}

// loopback lets tests log in without TLS.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// start starts a server (STLS offered) and returns it with its address.
func (e *env) start(tweak func(*Options)) (*Server, string) {
	e.t.Helper()
	o := Options{Hostname: "pop.example.test", TLS: e.serverTLS, Store: e.store, Auth: e.auth, Locks: e.locks}
	if tweak != nil {
		tweak(&o)
	}
	srv := New(o)
	l := testutil.Listen(e.t)
	go srv.Serve(l)
	e.t.Cleanup(func() { srv.Close() })
	return srv, l.Addr().String()
}

// serve starts a server that also allows logins without TLS from loopback.
func (e *env) serve() string {
	_, addr := e.start(func(o *Options) { o.PlaintextNetworks = loopback })
	return addr
}

// deliver stores raw in user's INBOX and returns its UID.
func (e *env) deliver(user, raw string) uint32 {
	e.t.Helper()
	return e.deliverWith(user, "", raw)
}

// deliverWith stores raw in user's INBOX with header lines added before
// it (store.NewMessage.Headers) and returns its UID.
func (e *env) deliverWith(user, headers, raw string) uint32 {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.store.LookupAccount(ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := e.store.Blobs().Create(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	w.Write([]byte(raw))
	id, size, err := w.Commit()
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	out, errs := e.store.Deliver(ctx, []store.NewMessage{{AccountID: a.ID, BlobID: id, Size: size, Headers: headers,
		InternalDate: time.Now(), Parsed: p.WithPrefix(headers)}})
	if errs[0] != nil {
		e.t.Fatal(errs[0])
	}
	return out[0].UID
}

// mailbox returns a mailbox of user and its messages.
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
	msgs, err := e.store.Messages(ctx, mb.ID, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return mb, msgs
}

// client is a POP3 test client.
type client struct {
	*testutil.Conn
	t testing.TB
}

// dial connects and reads the greeting.
func (e *env) dial(addr string) *client {
	e.t.Helper()
	return dial(e.t, addr)
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c := &client{Conn: testutil.Dial(t, addr), t: t}
	c.ok("")
	return c
}

// dialTLS connects with implicit TLS and reads the greeting.
func (e *env) dialTLS(addr string) *client {
	e.t.Helper()
	conn, err := tls.Dial("tcp", addr, e.clientTLS)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	c := &client{Conn: testutil.Wrap(e.t, conn), t: e.t}
	c.ok("")
	return c
}

// login dials a server from serve() and logs in with USER/PASS.
func (e *env) login(addr, user string) *client {
	e.t.Helper()
	c := e.dial(addr)
	c.ok("USER " + user)
	c.ok("PASS " + password)
	return c
}

// expect sends line (unless empty) and fails unless the one-line reply
// starts with prefix.
func (c *client) expect(line, prefix string) string {
	c.t.Helper()
	if line != "" {
		c.Send(line)
	}
	r := c.Line()
	if !strings.HasPrefix(r, prefix) {
		c.t.Fatalf("after %q: got %q, want prefix %q", line, r, prefix)
	}
	return r
}

func (c *client) ok(line string) string {
	c.t.Helper()
	return c.expect(line, "+OK")
}

// multi sends line, expects +OK and returns the multi-line body with
// dot-stuffing removed (RFC 1939 §3).
func (c *client) multi(line string) []string {
	c.t.Helper()
	c.ok(line)
	return c.body()
}

// body reads a multi-line response body up to its terminator.
func (c *client) body() []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.Line()
		if l == "." {
			return lines
		}
		lines = append(lines, strings.TrimPrefix(l, "."))
	}
}

// msg is a small message with a unique subject.
func msg(subject string) string {
	return "From: <bob@example.test>\r\nTo: <alice@example.test>\r\nSubject: " + subject + "\r\n\r\nHello.\r\n"
}

// panicStore panics when a message's body is read.
type panicStore struct{ Store }

func (panicStore) Blobs() store.BlobStore { panic("blob store broken") }

// A session that panics gets -ERR [SYS/PERM] and is closed; the process
// and the other sessions go on.
func TestSessionPanicEndsThatSessionOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver("alice@example.test", msg("one"))
	e.deliver("bob@example.test", msg("two"))
	_, addr := e.start(func(o *Options) { o.PlaintextNetworks, o.Store = loopback, panicStore{e.store} })
	bob := e.login(addr, "bob@example.test")
	alice := e.login(addr, "alice@example.test")
	alice.expect("RETR 1", "-ERR [SYS/PERM] ")
	if _, err := alice.Raw().Read(make([]byte, 1)); err == nil {
		t.Fatal("panicked session still open")
	}
	bob.expect("STAT", "+OK 1 ")
	e.dial(addr).ok("QUIT") // still accepting
}
