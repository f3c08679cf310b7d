package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/xdg-go/scram"
	"github.com/xdg-go/stringprep"
)

const (
	scramScheme     = "SCRAM-SHA-256"
	scramIterations = 4096 // RFC 7677 §4: the iteration count SHOULD be at least 4096
	scramSaltLen    = 16
	maxSCRAMIters   = 1 << 20 // sanity bound for stored counts
)

// NewSCRAMCredentials derives SCRAM-SHA-256 stored credentials for password
// (RFC 5802 §3) with a random 16-byte salt and 4096 iterations, serialized as
// in RFC 5803 §3:
//
//	SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
//
// in standard padded base64. The password is first prepared with SASLprep
// (RFC 4013), as RFC 5802 §2.2 Normalize requires and as clients do; a
// password SASLprep rejects cannot be used with SCRAM and is an error.
func NewSCRAMCredentials(password string) (string, error) {
	prepped, err := stringprep.SASLprep.Prepare(password)
	if err != nil {
		return "", fmt.Errorf("auth: password unusable with SCRAM: %w", err)
	}
	salt := make([]byte, scramSaltLen)
	rand.Read(salt)
	c, err := deriveSCRAM(prepped, salt, scramIterations)
	if err != nil {
		return "", err
	}
	return formatSCRAM(c), nil
}

// deriveSCRAM computes the stored credentials of RFC 5802 §3:
//
//	SaltedPassword := Hi(Normalize(password), salt, i)
//	ClientKey      := HMAC(SaltedPassword, "Client Key")
//	StoredKey      := H(ClientKey)
//	ServerKey      := HMAC(SaltedPassword, "Server Key")
//
// Hi is PBKDF2 with HMAC-SHA-256 (RFC 7677 §3). password is already
// normalized.
func deriveSCRAM(password string, salt []byte, iters int) (scram.StoredCredentials, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iters, sha256.Size)
	if err != nil {
		return scram.StoredCredentials{}, fmt.Errorf("auth: SCRAM key derivation: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(salt), Iters: iters},
		StoredKey:  storedKey[:],
		ServerKey:  hmacSHA256(salted, "Server Key"),
	}, nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func formatSCRAM(c scram.StoredCredentials) string {
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s$%d:%s$%s:%s", scramScheme, c.Iters,
		enc([]byte(c.Salt)), enc(c.StoredKey), enc(c.ServerKey))
}

// parseSCRAM reads what formatSCRAM writes.
func parseSCRAM(s string) (scram.StoredCredentials, error) {
	scheme, rest, _ := strings.Cut(s, "$")
	info, value, ok := strings.Cut(rest, "$")
	if scheme != scramScheme || !ok {
		return scram.StoredCredentials{}, fmt.Errorf("%w: not %s$<info>$<value>", ErrMalformedHash, scramScheme)
	}
	iterStr, saltB64, ok1 := strings.Cut(info, ":")
	storedB64, serverB64, ok2 := strings.Cut(value, ":")
	iters, err := strconv.Atoi(iterStr)
	if !ok1 || !ok2 || err != nil || iters < 1 || iters > maxSCRAMIters {
		return scram.StoredCredentials{}, fmt.Errorf("%w: bad SCRAM iteration count or separators", ErrMalformedHash)
	}
	salt, err1 := base64.StdEncoding.DecodeString(saltB64)
	stored, err2 := base64.StdEncoding.DecodeString(storedB64)
	server, err3 := base64.StdEncoding.DecodeString(serverB64)
	if err1 != nil || err2 != nil || err3 != nil || len(salt) == 0 ||
		len(stored) != sha256.Size || len(server) != sha256.Size {
		return scram.StoredCredentials{}, fmt.Errorf("%w: bad SCRAM salt or keys", ErrMalformedHash)
	}
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(salt), Iters: iters},
		StoredKey:  stored,
		ServerKey:  server,
	}, nil
}

// fakeSCRAM returns credentials for a user who does not exist, is disabled
// or has no SCRAM credentials. The salt is derived from the name under the
// Authenticator's secret, so asking twice gives the same answer as for a
// real user, and no proof can match the random-looking StoredKey. (The same
// defence as PostgreSQL's "mock authentication".) Under Options.FakeSCRAMKey
// the answer also survives a restart, as a real user's salt does.
func (a *Authenticator) fakeSCRAM(username string) scram.StoredCredentials {
	key := a.opts.FakeSCRAMKey
	if len(key) == 0 {
		key = a.secret[:]
	}
	salt := keyedDigest(key, "scram-salt", username)
	stored := keyedDigest(key, "scram-stored-key", username)
	server := keyedDigest(key, "scram-server-key", username)
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(salt[:scramSaltLen]), Iters: scramIterations},
		StoredKey:  stored[:],
		ServerKey:  server[:],
	}
}
