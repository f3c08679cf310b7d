package auth

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestHashPasswordFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		params Params
		want   string // regexp
	}{
		{testParams, `^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`},
		{Params{Memory: 2048, Time: 3, Threads: 4}, `^\$argon2id\$v=19\$m=2048,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`},
	}
	for _, tt := range tests {
		phc, err := HashPassword("correct horse", tt.params)
		if err != nil {
			t.Fatalf("HashPassword(%+v): %v", tt.params, err)
		}
		if !regexp.MustCompile(tt.want).MatchString(phc) {
			t.Errorf("HashPassword(%+v) = %q, want match for %s", tt.params, phc, tt.want)
		}
		h, err := parsePHC(phc)
		if err != nil {
			t.Fatalf("parsePHC(%q): %v", phc, err)
		}
		if h.params != tt.params || len(h.salt) != 16 || len(h.key) != 32 {
			t.Errorf("parsePHC(%q) = %+v, %d-byte salt, %d-byte key", phc, h.params, len(h.salt), len(h.key))
		}
	}
}

func TestDefaultParams(t *testing.T) {
	t.Parallel()
	got := encodePHC(DefaultParams, []byte("0123456789abcdef"), make([]byte, 32))
	if !strings.HasPrefix(got, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Errorf("DefaultParams encode as %q", got)
	}
}

func TestHashPasswordSaltsDiffer(t *testing.T) {
	t.Parallel()
	a, _ := HashPassword("same", testParams)
	b, _ := HashPassword("same", testParams)
	if a == b {
		t.Errorf("two hashes of the same password are equal: %q", a)
	}
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stored, tried string
		want          bool
	}{
		{"secret", "secret", true},
		{"secret", "Secret", false},
		{"secret", "secret ", false},
		{"secret", "", false},
		{"", "", true},
		{"pässwörd ☃", "pässwörd ☃", true},
		{"pässwörd ☃", "passwörd ☃", false},
	}
	for _, tt := range tests {
		phc, err := HashPassword(tt.stored, testParams)
		if err != nil {
			t.Fatal(err)
		}
		got, err := VerifyPassword(phc, tt.tried)
		if err != nil || got != tt.want {
			t.Errorf("VerifyPassword(hash of %q, %q) = %v, %v; want %v, nil", tt.stored, tt.tried, got, err, tt.want)
		}
	}
}

// TestVerifyPasswordIndependent checks VerifyPassword against a hash built
// directly with x/crypto/argon2, not with HashPassword.
func TestVerifyPasswordIndependent(t *testing.T) {
	t.Parallel()
	salt := []byte("sixteen byte slt")
	key := argon2.IDKey([]byte("password"), salt, 2, 1024, 2, 32)
	enc := base64.RawStdEncoding.EncodeToString
	phc := "$argon2id$v=19$m=1024,t=2,p=2$" + enc(salt) + "$" + enc(key)
	if ok, err := VerifyPassword(phc, "password"); !ok || err != nil {
		t.Errorf("VerifyPassword(%q) = %v, %v; want true, nil", phc, ok, err)
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	t.Parallel()
	good, err := HashPassword("x", testParams)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	join := func(parts ...string) string { return strings.Join(parts, "$") }
	tests := []struct {
		name, phc string
	}{
		{"empty", ""},
		{"plain text", "x"},
		{"bcrypt", "$2b$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234"},
		{"argon2i", join("", "argon2i", f[2], f[3], f[4], f[5])},
		{"version 16", join("", "argon2id", "v=16", f[3], f[4], f[5])},
		{"no version", join("", "argon2id", f[3], f[4], f[5])},
		{"extra field", good + "$x"},
		{"text before", "x" + good},
		{"params out of order", join("", "argon2id", f[2], "t=1,m=1024,p=1", f[4], f[5])},
		{"params missing", join("", "argon2id", f[2], "m=1024,t=1", f[4], f[5])},
		{"params not numbers", join("", "argon2id", f[2], "m=lots,t=1,p=1", f[4], f[5])},
		{"time zero", join("", "argon2id", f[2], "m=1024,t=0,p=1", f[4], f[5])},
		{"threads zero", join("", "argon2id", f[2], "m=1024,t=1,p=0", f[4], f[5])},
		{"threads 256", join("", "argon2id", f[2], "m=4096,t=1,p=256", f[4], f[5])},
		{"memory below 8p", join("", "argon2id", f[2], "m=15,t=1,p=2", f[4], f[5])},
		{"memory too big", join("", "argon2id", f[2], "m=4294967295,t=1,p=1", f[4], f[5])},
		{"memory overflow", join("", "argon2id", f[2], "m=4294967296,t=1,p=1", f[4], f[5])},
		{"padded salt", join("", "argon2id", f[2], f[3], f[4]+"==", f[5])},
		{"bad salt", join("", "argon2id", f[2], f[3], "!!!!", f[5])},
		{"short salt", join("", "argon2id", f[2], f[3], "YWJj", f[5])},
		{"empty key", join("", "argon2id", f[2], f[3], f[4], "")},
	}
	for _, tt := range tests {
		ok, err := VerifyPassword(tt.phc, "x")
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: VerifyPassword(%q) = %v, %v; want false, ErrMalformedHash", tt.name, tt.phc, ok, err)
		}
	}
}

func TestHashPasswordBadParams(t *testing.T) {
	t.Parallel()
	for _, p := range []Params{
		{},
		{Memory: 1024, Time: 0, Threads: 1},
		{Memory: 1024, Time: 1, Threads: 0},
		{Memory: 8, Time: 1, Threads: 2},
	} {
		if _, err := HashPassword("x", p); err == nil {
			t.Errorf("HashPassword(%+v) succeeded, want error", p)
		}
	}
}

func FuzzVerifyPassword(f *testing.F) {
	good, _ := HashPassword("x", testParams)
	f.Add(good)
	f.Add("$argon2id$v=19$m=8,t=1,p=1$YWJjZGVmZ2g$YWJjZA")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Fuzz(func(t *testing.T, phc string) {
		h, err := parsePHC(phc)
		if err != nil {
			return
		}
		if h.params.Memory > 1<<16 || h.params.Time > 4 {
			return // valid but too slow to run in a fuzz loop
		}
		if _, err := VerifyPassword(phc, "x"); err != nil {
			t.Errorf("parsePHC accepted %q but VerifyPassword: %v", phc, err)
		}
	})
}
