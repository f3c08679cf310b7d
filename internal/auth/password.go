package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrMalformedHash is returned (wrapped) by VerifyPassword for a string that
// is not an argon2id hash in the PHC form HashPassword writes.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// Params are argon2id cost parameters (RFC 9106 §3.1).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
}

// DefaultParams use the 64 MiB of the second recommended option of
// RFC 9106 §4, with two passes and two lanes instead of three and four to
// keep a login around tens of milliseconds. Never mutated.
var DefaultParams = Params{Memory: 64 * 1024, Time: 2, Threads: 2}

const (
	saltLen = 16 // RFC 9106 §3.1: 128 bits of salt recommended for passwords
	keyLen  = 32 // tag length

	// Sanity bounds for parameters read back from storage, so that a
	// corrupted hash cannot make one login take gigabytes or hours.
	maxMemory = 4 << 20 // KiB, 4 GiB
	maxTime   = 1000
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding.Strict()

// validate checks p against RFC 9106 §3.1 (at least one pass and one lane,
// at least 8 KiB per lane) and our sanity bounds.
func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("argon2id time %d out of range [1, %d]", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("argon2id needs at least one thread")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("argon2id memory %d KiB out of range [%d, %d]", p.Memory, 8*uint32(p.Threads), maxMemory)
	}
	return nil
}

// HashPassword returns an argon2id hash of password in PHC string form:
// $argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>, with a random 16-byte salt
// and a 32-byte key, both in unpadded standard base64.
func HashPassword(password string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return encodePHC(p, salt, key), nil
}

// VerifyPassword reports whether password matches the PHC argon2id hash phc,
// comparing in constant time. The error, wrapping ErrMalformedHash, is for a
// hash it cannot read.
func VerifyPassword(phc, password string) (bool, error) {
	h, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// dummyHash returns a well-formed hash with parameters p that no password
// is known to match. Verifying against it costs as much as a real hash made
// with p.
func dummyHash(p Params) string {
	salt := make([]byte, saltLen)
	key := make([]byte, keyLen)
	rand.Read(salt)
	rand.Read(key)
	return encodePHC(p, salt, key)
}

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// phcHash is a parsed argon2id PHC string.
type phcHash struct {
	params Params
	salt   []byte
	key    []byte
}

// parsePHC reads exactly the form encodePHC writes: fields in that order,
// version 19 only.
func parsePHC(s string) (phcHash, error) {
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return phcHash{}, fmt.Errorf("%w: want 5 $-separated fields", ErrMalformedHash)
	}
	if f[1] != "argon2id" {
		return phcHash{}, fmt.Errorf("%w: algorithm %q is not argon2id", ErrMalformedHash, f[1])
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return phcHash{}, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, f[2])
	}
	var h phcHash
	var err error
	if h.params, err = parseParams(f[3]); err != nil {
		return phcHash{}, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	if h.salt, err = b64.DecodeString(f[4]); err != nil || len(h.salt) < 8 {
		return phcHash{}, fmt.Errorf("%w: salt must be at least 8 bytes of base64", ErrMalformedHash)
	}
	if h.key, err = b64.DecodeString(f[5]); err != nil || len(h.key) < 4 {
		return phcHash{}, fmt.Errorf("%w: hash must be at least 4 bytes of base64", ErrMalformedHash)
	}
	return h, nil
}

// parseParams reads "m=<KiB>,t=<passes>,p=<lanes>".
func parseParams(s string) (Params, error) {
	kv := strings.Split(s, ",")
	if len(kv) != 3 {
		return Params{}, fmt.Errorf("parameters %q: want m=,t=,p=", s)
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return Params{}, fmt.Errorf("parameters %q: want %s= in position %d", s, name, i+1)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, fmt.Errorf("parameter %s: %v", name, err)
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return Params{}, fmt.Errorf("parameter p=%d too large", vals[2])
	}
	p := Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}
	return p, p.validate()
}
