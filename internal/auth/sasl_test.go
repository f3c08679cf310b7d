package auth

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/emersion/go-sasl"
)

func TestMechanisms(t *testing.T) {
	t.Parallel()
	want := []string{"PLAIN", "LOGIN", "SCRAM-SHA-256"}
	if got := Mechanisms(); !slices.Equal(got, want) {
		t.Errorf("Mechanisms() = %q, want %q", got, want)
	}
	Mechanisms()[0] = "CHANGED"
	if Mechanisms()[0] != "PLAIN" {
		t.Errorf("Mechanisms() shares its slice between calls")
	}
}

func TestSASLMechanismNames(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	tests := []struct {
		mech string
		ok   bool
	}{
		{"PLAIN", true},
		{"plain", true},
		{"Login", true},
		{"scram-sha-256", true},
		{"SCRAM-SHA-256-PLUS", false},
		{"SCRAM-SHA-1", false},
		{"CRAM-MD5", false},
		{"", false},
	}
	for _, tt := range tests {
		srv, err := env.auth.SASL(context.Background(), tt.mech, ip1, nil)
		if ok := err == nil && srv != nil; ok != tt.ok {
			t.Errorf("SASL(%q) = %v, %v; want ok %v", tt.mech, srv, err, tt.ok)
		}
		if !tt.ok && !errors.Is(err, ErrUnsupportedMechanism) {
			t.Errorf("SASL(%q) error %v, want ErrUnsupportedMechanism", tt.mech, err)
		}
	}
}

func TestSASLPasswordMechanisms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		client sasl.Client
		want   error
		wantID int64
	}{
		{"PLAIN right", sasl.NewPlainClient("", "alice@example.test", "secret"), nil, 1},
		{"PLAIN upper case", sasl.NewPlainClient("", "ALICE@example.test", "secret"), nil, 1},
		{"PLAIN authzid same", sasl.NewPlainClient("Alice@example.test", "alice@example.test", "secret"), nil, 1},
		{"PLAIN authzid other", sasl.NewPlainClient("bob@example.test", "alice@example.test", "secret"), ErrAuthzNotAllowed, 0},
		{"PLAIN wrong", sasl.NewPlainClient("", "alice@example.test", "hunter2"), ErrInvalidCredentials, 0},
		{"PLAIN unknown", sasl.NewPlainClient("", "nobody@example.test", "secret"), ErrInvalidCredentials, 0},
		{"PLAIN disabled", sasl.NewPlainClient("", "dave@example.test", "secret"), ErrInvalidCredentials, 0},
		{"LOGIN right", sasl.NewLoginClient("bob@example.test", "hunter2"), nil, 2},
		{"LOGIN wrong", sasl.NewLoginClient("bob@example.test", "secret"), ErrInvalidCredentials, 0},
		{"LOGIN unknown", sasl.NewLoginClient("nobody@example.test", "hunter2"), ErrInvalidCredentials, 0},
	}
	env := newTestEnv(t, Options{MaxFailuresPerAccount: -1, MaxFailuresPerIP: -1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mech, _, _ := tt.client.Start()
			var got Account
			srv, err := env.auth.SASL(context.Background(), mech, ip1, func(a Account) { got = a })
			if err != nil {
				t.Fatal(err)
			}
			if err := exchange(srv, tt.client); err != tt.want {
				t.Fatalf("exchange: %v, want %v", err, tt.want)
			}
			if got.ID != tt.wantID {
				t.Errorf("onSuccess account %d, want %d", got.ID, tt.wantID)
			}
		})
	}
}

// TestSASLNoInitialResponse walks PLAIN and LOGIN when the client sends no
// initial response, checking each challenge on the way.
func TestSASLNoInitialResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mech  string
		steps []string // client responses, in order
		chals []string // server challenges expected before each response
	}{
		{"PLAIN", []string{"\x00alice@example.test\x00secret"}, []string{""}},
		{"LOGIN", []string{"alice@example.test", "secret"}, []string{"Username:", "Password:"}},
	}
	env := newTestEnv(t, Options{})
	for _, tt := range tests {
		called := false
		srv, _ := env.auth.SASL(context.Background(), tt.mech, ip1, func(Account) { called = true })
		var resp []byte
		for i, step := range tt.steps {
			ch, done, err := srv.Next(resp)
			if err != nil || done || !bytes.Equal(ch, []byte(tt.chals[i])) {
				t.Fatalf("%s step %d: Next = %q, %v, %v; want %q", tt.mech, i, ch, done, err, tt.chals[i])
			}
			resp = []byte(step)
		}
		if _, done, err := srv.Next(resp); !done || err != nil || !called {
			t.Errorf("%s final Next: done %v, err %v, onSuccess called %v", tt.mech, done, err, called)
		}
		if _, _, err := srv.Next(nil); err == nil {
			t.Errorf("%s: Next after done succeeded", tt.mech)
		}
	}
}

func TestPLAINMalformed(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	for _, msg := range []string{"", "alice@example.test", "a\x00b", "a\x00b\x00c\x00d"} {
		srv, _ := env.auth.SASL(context.Background(), "PLAIN", ip1, nil)
		if _, _, err := srv.Next([]byte(msg)); err == nil || errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("PLAIN %q: err %v, want a malformed-message error", msg, err)
		}
	}
}

// FuzzSASL feeds arbitrary client messages to every mechanism: no panics,
// and no success without the password.
func FuzzSASL(f *testing.F) {
	env := newTestEnv(f, Options{MaxFailuresPerAccount: -1, MaxFailuresPerIP: -1})
	f.Add("PLAIN", []byte("\x00alice@example.test\x00wrong"), []byte(nil))
	f.Add("LOGIN", []byte("alice@example.test"), []byte("wrong"))
	f.Add("SCRAM-SHA-256", []byte("n,,n=alice@example.test,r=abc"), []byte("c=biws,r=abc,p=AAAA"))
	f.Add("SCRAM-SHA-256", []byte("y,a=x,n=a=2Cb=3D,r=abc,m=ext"), []byte(""))
	f.Fuzz(func(t *testing.T, mech string, first, second []byte) {
		srv, err := env.auth.SASL(context.Background(), mech, ip1, func(Account) {
			t.Errorf("%s authenticated with %q, %q", mech, first, second)
		})
		if err != nil {
			return
		}
		for _, msg := range [][]byte{first, second, nil} {
			if _, done, err := srv.Next(msg); done || err != nil {
				return
			}
		}
	})
}
