package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// TestDeriveSCRAMRFC7677 checks the key derivation against the example
// exchange of RFC 7677 §3 (user "user", password "pencil").
func TestDeriveSCRAMRFC7677(t *testing.T) {
	t.Parallel()
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	c, err := deriveSCRAM("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	authMsg := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=" + nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=" + nonce
	mac := func(key []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(authMsg))
		return m.Sum(nil)
	}
	// Server side: ServerSignature = HMAC(ServerKey, AuthMessage).
	if got, want := base64.StdEncoding.EncodeToString(mac(c.ServerKey)), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="; got != want {
		t.Errorf("ServerSignature = %s, want %s", got, want)
	}
	// Client proof from the RFC: ClientKey = proof XOR HMAC(StoredKey, AuthMessage),
	// and H(ClientKey) must be StoredKey.
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	sig := mac(c.StoredKey)
	for i := range proof {
		proof[i] ^= sig[i]
	}
	if h := sha256.Sum256(proof); !bytes.Equal(h[:], c.StoredKey) {
		t.Errorf("RFC 7677 client proof does not verify against derived StoredKey")
	}
}

func TestSCRAMCredentialsFormat(t *testing.T) {
	t.Parallel()
	s, err := NewSCRAMCredentials("pencil")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$`)
	if !re.MatchString(s) {
		t.Errorf("NewSCRAMCredentials = %q, want match for %s", s, re)
	}
	c, err := parseSCRAM(s)
	if err != nil {
		t.Fatalf("parseSCRAM(%q): %v", s, err)
	}
	if got := formatSCRAM(c); got != s {
		t.Errorf("formatSCRAM(parseSCRAM(%q)) = %q", s, got)
	}
	if len(c.Salt) != 16 || c.Iters != 4096 {
		t.Errorf("salt %d bytes, %d iterations; want 16, 4096", len(c.Salt), c.Iters)
	}
}

func TestSCRAMCredentialsSASLprep(t *testing.T) {
	t.Parallel()
	// RFC 4013: a non-ASCII space maps to U+0020; a control character is prohibited.
	if _, err := NewSCRAMCredentials("a\u00a0b"); err != nil {
		t.Errorf("NewSCRAMCredentials with no-break space: %v", err)
	}
	if _, err := NewSCRAMCredentials("a\u0007b"); err == nil {
		t.Errorf("NewSCRAMCredentials with BEL succeeded, want error")
	}
}

func TestParseSCRAMMalformed(t *testing.T) {
	t.Parallel()
	good, _ := NewSCRAMCredentials("x")
	tests := []string{
		"",
		"SCRAM-SHA-1$4096:c2FsdA==$AAAA:AAAA",
		strings.Replace(good, "4096", "0", 1),
		strings.Replace(good, "4096", "many", 1),
		strings.Replace(good, ":", ";", 1),
		strings.TrimSuffix(good, "=") + "x",
		good + "$",
		"SCRAM-SHA-256$4096:$" + strings.SplitN(good, "$", 3)[2],
	}
	for _, s := range tests {
		if _, err := parseSCRAM(s); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("parseSCRAM(%q) = %v, want ErrMalformedHash", s, err)
		}
	}
}

// scramClient drives an xdg-go/scram client conversation as a sasl.Client.
type scramClient struct{ conv *scram.ClientConversation }

func newSCRAMClient(t testing.TB, username, password, authzid string) *scramClient {
	t.Helper()
	c, err := scram.SHA256.NewClient(username, password, authzid)
	if err != nil {
		t.Fatal(err)
	}
	return &scramClient{conv: c.NewConversation()}
}

func (c *scramClient) Start() (string, []byte, error) {
	first, err := c.conv.Step("")
	return "SCRAM-SHA-256", []byte(first), err
}

func (c *scramClient) Next(challenge []byte) ([]byte, error) {
	resp, err := c.conv.Step(string(challenge))
	return []byte(resp), err
}

func TestSCRAMExchange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, user, password, authzid string
		want                          error
		wantID                        int64
	}{
		{"right password", "alice@example.test", "secret", "", nil, 1},
		{"mixed case user", "Alice@Example.TEST", "secret", "", nil, 1},
		{"authzid same user", "alice@example.test", "secret", "alice@example.test", nil, 1},
		{"authzid other user", "alice@example.test", "secret", "bob@example.test", ErrAuthzNotAllowed, 0},
		{"wrong password", "alice@example.test", "wrong", "", ErrInvalidCredentials, 0},
		{"unknown user", "nobody@example.test", "secret", "", ErrInvalidCredentials, 0},
		{"disabled", "dave@example.test", "secret", "", ErrInvalidCredentials, 0},
		{"no SCRAM credentials", "erin@example.test", "secret", "", ErrInvalidCredentials, 0},
	}
	env := newTestEnv(t, Options{MaxFailuresPerAccount: -1, MaxFailuresPerIP: -1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got Account
			srv, err := env.auth.SASL(context.Background(), "scram-sha-256", ip1, func(a Account) { got = a })
			if err != nil {
				t.Fatal(err)
			}
			client := newSCRAMClient(t, tt.user, tt.password, tt.authzid)
			err = exchange(srv, client)
			if !errors.Is(err, tt.want) {
				t.Fatalf("exchange: %v, want %v", err, tt.want)
			}
			if got.ID != tt.wantID {
				t.Errorf("onSuccess account %d, want %d", got.ID, tt.wantID)
			}
			if tt.want == nil && !client.conv.Valid() {
				t.Errorf("client did not verify the server signature")
			}
		})
	}
}

// TestSCRAMNoInitialResponse checks the empty first challenge and that an
// unknown user is offered a salt as stable and as long as a real one.
func TestSCRAMNoInitialResponse(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	serverFirst := func(user string) string {
		srv, _ := env.auth.SASL(context.Background(), "SCRAM-SHA-256", ip1, nil)
		ch, done, err := srv.Next(nil)
		if err != nil || done || len(ch) != 0 {
			t.Fatalf("Next(nil) = %q, %v, %v; want empty challenge", ch, done, err)
		}
		first, _ := newSCRAMClient(t, user, "x", "").conv.Step("")
		ch, done, err = srv.Next([]byte(first))
		if err != nil || done {
			t.Fatalf("Next(client-first) = %q, %v, %v", ch, done, err)
		}
		return string(ch)
	}
	saltOf := regexp.MustCompile(`^r=[^,]+,s=([A-Za-z0-9+/]{22}==),i=4096$`)
	for _, user := range []string{"alice@example.test", "nobody@example.test"} {
		a, b := saltOf.FindStringSubmatch(serverFirst(user)), saltOf.FindStringSubmatch(serverFirst(user))
		if a == nil || b == nil || a[1] != b[1] {
			t.Errorf("%s: server-first salts %q, %q; want the same 16-byte salt twice", user, a, b)
		}
	}
}

func TestSCRAMFinalMustBeEmpty(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	called := false
	srv, _ := env.auth.SASL(context.Background(), "SCRAM-SHA-256", ip1, func(Account) { called = true })
	c := newSCRAMClient(t, "alice@example.test", "secret", "")
	_, resp, _ := c.Start()
	ch, _, _ := srv.Next(resp)
	resp, _ = c.Next(ch)
	ch, done, err := srv.Next(resp)
	if err != nil || done || !bytes.HasPrefix(ch, []byte("v=")) {
		t.Fatalf("Next(client-final) = %q, %v, %v; want v=..., not done", ch, done, err)
	}
	if _, _, err := srv.Next([]byte("junk")); err == nil || called {
		t.Errorf("non-empty response after server-final: err %v, onSuccess called %v", err, called)
	}
}

// The made-up SCRAM credentials of an unknown user depend only on the
// name and FakeSCRAMKey: a restarted server with the same key gives the
// same salt, as it would for a real user.
func TestFakeSCRAMFollowsKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a := New(&fakeLookup{}, Options{FakeSCRAMKey: key})
	b := New(&fakeLookup{}, Options{FakeSCRAMKey: key})
	if a.fakeSCRAM("nobody@x.test").Salt != b.fakeSCRAM("nobody@x.test").Salt {
		t.Fatal("same key, different salts")
	}
	if a.fakeSCRAM("nobody@x.test").Salt == a.fakeSCRAM("other@x.test").Salt {
		t.Fatal("two names, one salt")
	}
	if c := New(&fakeLookup{}, Options{}); c.fakeSCRAM("nobody@x.test").Salt == a.fakeSCRAM("nobody@x.test").Salt {
		t.Fatal("a random key gave the keyed salt")
	}
}
