package managesieve

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/connsrv"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/testutil"
	"facteur.dev/facteur/internal/testutil/fixture"
)

const password = fixture.Password

// env is a store with example.test, alice and bob, and a server on
// loopback.
type env struct {
	t         testing.TB
	store     store.Store
	accounts  []store.Account
	auth      *auth.Authenticator
	clientTLS *tls.Config
	serverTLS *tls.Config
	addr      string
	srv       *Server
}

// checker refuses scripts that contain "error" and accepts those that
// contain "warn" with a warning, as a compiler would.
type checker struct{}

func (checker) Check(_ context.Context, a store.Account, name string, script []byte) error {
	switch {
	case a.ID == 0 || a.Address == "":
		return errors.New("no account given to the checker")
	case strings.Contains(string(script), "error"):
		return errors.New("line 1: syntax error")
	case strings.Contains(string(script), "warn"):
		return &Warnings{Text: "line 1: unused variable"}
	}
	return nil
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func newEnv(t testing.TB, tweak func(*Options)) *env {
	t.Helper()
	s, accts := fixture.Store(t, t.TempDir())
	st, ct := testutil.TLSConfigs(t)
	e := &env{t: t, store: s, accounts: accts, clientTLS: ct, serverTLS: st,
		auth: auth.New(auth.StoreLookup{Accounts: s}, auth.Options{FailureDelay: time.Millisecond, MaxFailuresPerAccount: 3, MaxFailuresPerIP: 100})}
	o := Options{TLS: st, Store: s, Auth: e.auth, Checker: checker{},
		Extensions: []string{"fileinto", "vacation"}, MaxRedirects: 5, Notify: []string{"mailto"}}
	if tweak != nil {
		tweak(&o)
	}
	e.srv = New(o)
	l := testutil.Listen(t)
	go e.srv.Serve(l)
	t.Cleanup(func() { e.srv.Close() })
	e.addr = l.Addr().String()
	return e
}

// client is a ManageSieve connection for tests.
type client struct {
	*testutil.Conn
	t testing.TB
}

func (e *env) dial() *client {
	c := &client{e.dialT(e.t), e.t}
	c.expect("", "OK")
	return c
}

// dialT connects for test t, which may be a fuzz run's own.
func (e *env) dialT(t testing.TB) *testutil.Conn { return testutil.Dial(t, e.addr) }

// response reads lines up to the OK, NO or BYE that ends a response and
// returns them joined by "\n".
func (c *client) response() string {
	c.t.Helper()
	var lines []string
	for {
		l := c.Line()
		lines = append(lines, l)
		for _, end := range []string{"OK", "NO", "BYE"} {
			if l == end || strings.HasPrefix(l, end+" ") {
				return strings.Join(lines, "\n")
			}
		}
	}
}

// expect sends cmd (unless empty) and fails unless the response's last
// line starts with want; it returns the whole response.
func (c *client) expect(cmd, want string) string {
	c.t.Helper()
	if cmd != "" {
		c.Send(cmd)
	}
	r := c.response()
	if last := r[strings.LastIndex(r, "\n")+1:]; !strings.HasPrefix(last, want) {
		c.t.Fatalf("after %q: got %q, want a last line starting %q", cmd, r, want)
	}
	return r
}

// challenge sends cmd and fails unless the next line is want, a SASL
// challenge.
func (c *client) challenge(cmd, want string) {
	c.t.Helper()
	c.Send(cmd)
	if l := c.Line(); l != want {
		c.t.Fatalf("after %q: got %q, want the challenge %q", cmd, l, want)
	}
}

// starttls upgrades the connection and reads the capabilities sent again.
func (c *client) starttls(cfg *tls.Config) string {
	c.t.Helper()
	c.expect("STARTTLS", "OK")
	c.StartTLS(cfg)
	return c.expect("", "OK")
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// login connects, upgrades to TLS and logs in as user.
func (e *env) login(user string) *client {
	c := e.dial()
	c.starttls(e.clientTLS)
	c.expect(`AUTHENTICATE "PLAIN" "`+plain(user, password)+`"`, "OK")
	return c
}

// put uploads a script with a non-synchronizing literal.
func (c *client) put(name, script, want string) string {
	c.t.Helper()
	return c.expect(fmt.Sprintf("PUTSCRIPT %s {%d+}\r\n%s", quote(name), len(script), script), want)
}

func TestCapabilitiesAndSTARTTLS(t *testing.T) {
	e := newEnv(t, nil)
	c := &client{testutil.Dial(t, e.addr), t}
	greeting := c.expect("", "OK")
	for _, want := range []string{`"IMPLEMENTATION" "Facteur"`, `"SASL" ""`, `"SIEVE" "fileinto vacation"`,
		`"STARTTLS"`, `"MAXREDIRECTS" "5"`, `"NOTIFY" "mailto"`, `"VERSION" "1.0"`, `"UNAUTHENTICATE"`} {
		if !strings.Contains(greeting, want+"\n") {
			t.Errorf("greeting without TLS lacks %s:\n%s", want, greeting)
		}
	}
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("alice@example.test", password)+`"`, "NO (ENCRYPT-NEEDED)")
	c.expect("LISTSCRIPTS", `NO "Authenticate first"`)
	caps := c.starttls(e.clientTLS)
	if !strings.Contains(caps, `"SASL" "PLAIN SCRAM-SHA-256"`) || strings.Contains(caps, "STARTTLS") {
		t.Fatalf("capabilities over TLS:\n%s", caps)
	}
	c.expect("STARTTLS", "NO")
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("alice@example.test", password)+`"`, "OK")
	caps = c.expect("CAPABILITY", "OK")
	if !strings.Contains(caps, `"OWNER" "alice@example.test"`) || strings.Contains(caps, `"SASL" ""`) {
		t.Fatalf("capabilities once logged in:\n%s", caps)
	}
	c.expect("LOGOUT", "OK")
}

// A plaintext network may log in without TLS.
func TestPlaintextNetworks(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.PlaintextNetworks, o.Extensions = loopback, nil })
	c := &client{testutil.Dial(t, e.addr), t}
	if g := c.expect("", "OK"); !strings.Contains(g, `"SASL" "PLAIN SCRAM-SHA-256"`) || !strings.Contains(g, `"SIEVE" ""`) {
		t.Fatalf("greeting to a plaintext network:\n%s", g)
	}
	// The continuation form: no initial response, the client answers "".
	c.challenge(`AUTHENTICATE "PLAIN"`, `""`)
	c.expect(`"`+plain("bob@example.test", password)+`"`, "OK")
	c.expect("LISTSCRIPTS", "OK")
}

func TestScripts(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login("alice@example.test")
	c.put("vacation", "require \"vacation\";\r\nvacation \"away\";\r\n", "OK")
	c.put("Spam ✓", `require "fileinto"; fileinto "Junk";`, "OK")
	c.expect("LISTSCRIPTS", "OK")
	c.expect(`SETACTIVE "vacation"`, "OK")
	if got := c.expect("LISTSCRIPTS", "OK"); got != "\"Spam ✓\"\n\"vacation\" ACTIVE\nOK \"Listscripts completed\"" {
		t.Fatalf("LISTSCRIPTS: %q", got)
	}
	if got := c.expect(`GETSCRIPT "vacation"`, "OK"); got != "{39}\nrequire \"vacation\";\nvacation \"away\";\n\nOK \"Getscript completed\"" {
		t.Fatalf("GETSCRIPT: %q", got)
	}
	c.expect(`GETSCRIPT "nope"`, "NO (NONEXISTENT)")
	c.expect(`DELETESCRIPT "vacation"`, "NO (ACTIVE)")
	c.expect(`DELETESCRIPT "nope"`, "NO (NONEXISTENT)")
	c.expect(`RENAMESCRIPT "Spam ✓" "vacation"`, "NO (ALREADYEXISTS)")
	c.expect(`RENAMESCRIPT "nope" "other"`, "NO (NONEXISTENT)")
	c.expect(`RENAMESCRIPT "vacation" "away"`, "OK")
	if name, _, ok, _ := e.store.ActiveSieveScript(context.Background(), e.accounts[0].ID); !ok || name != "away" {
		t.Fatalf("active after rename: %q %v", name, ok)
	}
	c.expect(`SETACTIVE ""`, "OK")
	c.expect(`DELETESCRIPT "away"`, "OK")
	c.expect(`SETACTIVE "away"`, "NO (NONEXISTENT)")
	c.expect(`NOOP "t1"`, `OK (TAG "t1") "Done"`)
	c.expect(`NOOP`, `OK "Done"`)
	// Bob sees none of it.
	b := e.login("bob@example.test")
	if got := b.expect("LISTSCRIPTS", "OK"); got != `OK "Listscripts completed"` {
		t.Fatalf("bob's scripts: %q", got)
	}
	c.expect("UNAUTHENTICATE", "OK")
	c.expect("LISTSCRIPTS", "NO")
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("bob@example.test", password)+`"`, "OK")
}

// A script the checker refuses changes nothing: not the script of that
// name, not the active one. Warnings accept the script.
func TestPutScriptChecked(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login("alice@example.test")
	c.put("main", "keep;", "OK")
	c.expect(`SETACTIVE "main"`, "OK")
	if got := c.put("main", "syntax error here", "NO"); got != `NO "line 1: syntax error"` {
		t.Fatalf("refused script: %q", got)
	}
	if name, content, ok, _ := e.store.ActiveSieveScript(context.Background(), e.accounts[0].ID); !ok || name != "main" || string(content) != "keep;" {
		t.Fatalf("after a refused put the active script is %q %q %v", name, content, ok)
	}
	c.put("other", "error", "NO")
	if got := c.expect("LISTSCRIPTS", "OK"); got != "\"main\" ACTIVE\nOK \"Listscripts completed\"" {
		t.Fatalf("a refused script was stored: %q", got)
	}
	if got := c.put("w", "warn", "OK"); got != `OK (WARNINGS) "line 1: unused variable"` {
		t.Fatalf("script with warnings: %q", got)
	}
	c.expect(fmt.Sprintf("CHECKSCRIPT {%d+}\r\n%s", 5, "error"), `NO "line 1: syntax error"`)
	c.expect(fmt.Sprintf("CHECKSCRIPT {%d+}\r\n%s", 5, "keep;"), "OK")
	c.put("bin", "keep; \xff", `NO "The script is not valid UTF-8"`)
	c.put("bad\x01name", "keep;", "NO")
	c.expect("PUTSCRIPT \"bad\xffname\" \"keep;\"", "NO")
}

func TestLimits(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxScripts, o.MaxScriptSize = 2, 100 })
	c := e.login("alice@example.test")
	c.put("a", "keep;", "OK")
	c.expect(`HAVESPACE "b" 100`, "OK")
	c.expect(`HAVESPACE "b" 101`, "NO (QUOTA/MAXSIZE)")
	c.put("b", "keep;", "OK")
	c.expect(`HAVESPACE "c" 10`, "NO (QUOTA/MAXSCRIPTS)")
	c.expect(`HAVESPACE "a" 10`, "OK")
	c.put("c", "keep;", "NO (QUOTA/MAXSCRIPTS)")
	c.put("a", "keep;"+strings.Repeat(" ", 96), "NO (QUOTA/MAXSIZE)") // a literal over the limit is read and refused
	c.expect(`NOOP "after"`, `OK (TAG "after")`)
	// A synchronizing literal gets a continuation; over the limit, a NO
	// instead, and the client does not send it.
	c.Send(`PUTSCRIPT "a" {6}`)
	if l := c.Line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("continuation for {6}: %q", l)
	}
	c.expect("stop;\n", "OK")
	c.expect(`PUTSCRIPT "a" {101}`, "NO (QUOTA/MAXSIZE)")
	c.expect(`GETSCRIPT "a"`, "OK")
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxUnauthCommands, o.MaxLineLength = 5, 200 })
	c := e.dial()
	c.expect("FROB", "NO")
	c.expect(`"quoted" first`, "NO")
	c.expect(`NOOP "unterminated`, "NO")
	c.expect(`NOOP "a" {3+}`+"\r\nabc", "NO") // too many arguments, literal skipped
	c.expect("NOOP", "OK")
	c.expect("NOOP", `BYE "Too many commands without authentication"`)

	c = e.dial()
	c.expect(strings.Repeat("x", 300), `BYE "Line too long"`)
}

func TestAuthFailures(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.starttls(e.clientTLS)
	for range 3 {
		c.expect(`AUTHENTICATE "PLAIN" "`+plain("alice@example.test", "wrong")+`"`, `NO "Authentication failed"`)
	}
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("alice@example.test", password)+`"`, "NO (TRYLATER)")
	c.challenge(`AUTHENTICATE "PLAIN"`, `""`)
	c.expect(`"*"`, `NO "Authentication cancelled"`)
	c.expect(`AUTHENTICATE "PLAIN" "!!!"`, `NO "Invalid base64"`)
	c.expect(`AUTHENTICATE "LOGIN"`, `NO "Unsupported mechanism"`)
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("bob@example.test", password)+`"`, "OK")
}

// Shutdown closes idle sessions and returns; the listener is gone.
func TestShutdown(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login("alice@example.test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c.Raw().SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Raw().Read(make([]byte, 1)); err == nil {
		t.Fatalf("an idle session stayed open after Shutdown (read %d octets)", n)
	}
	if conn, err := net.Dial("tcp", e.addr); err == nil {
		conn.Close()
		t.Fatal("the listener accepts after Shutdown")
	}
}

// A client that stays silent before logging in is closed at the login
// timeout; one that has logged in is not.
func TestLoginTimeout(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.LoginTimeout = 200 * time.Millisecond })
	silent := e.dial()
	if lines := silent.UntilClosed(); len(lines) != 0 {
		t.Fatalf("before the close: %q", lines)
	}
	c := e.login("alice@example.test")
	time.Sleep(400 * time.Millisecond) // past the login timeout: the session must still be there
	c.expect("NOOP", "OK")
}

// Invalid commands in a row end the session after connsrv.MaxStrikes;
// a valid one in between starts the count again.
func TestGarbageEndsSession(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login("alice@example.test")
	for range connsrv.MaxStrikes - 1 {
		c.expect("FROBNICATE", "NO")
	}
	c.expect("NOOP", "OK")
	for range connsrv.MaxStrikes - 1 {
		c.expect("FROBNICATE", "NO")
	}
	c.Send("FROBNICATE")
	if lines := c.UntilClosed(); len(lines) != 1 || !strings.HasPrefix(lines[0], "BYE") {
		t.Fatalf("after %d invalid commands: %q", connsrv.MaxStrikes, lines)
	}
}
