package arc

import (
	"bufio"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/authres"
)

// Errors of Seal when the message must go on without a new set.
var (
	// ErrChainFailed: the newest ARC-Seal already says cv=fail, and
	// nothing is to be added (RFC 8617 §5.1 step 1).
	ErrChainFailed = errors.New("arc: the newest ARC-Seal says cv=fail, no set is added (RFC 8617 §5.1)")
	// ErrChainFull: the message has 50 sets (RFC 8617 §4.2.1.1).
	ErrChainFull = errors.New("arc: the chain has reached 50 sets (RFC 8617 §4.2.1.1)")
)

// Sealer adds an ARC set to the messages this server forwards (RFC 8617
// §5.1), in the name of one domain with one key.
type Sealer struct {
	AuthServID string // names this server in the AAR (RFC 8601 §2.5)
	Domain     string // d=
	Selector   string // s=
	// Key signs the AMS and the AS. An RSA key gives rsa-sha256, which
	// every ARC validator knows; an Ed25519 key gives ed25519-sha256
	// (RFC 8463), which fewer do. A set has one AMS and one AS (RFC
	// 8617 §5.2 step 3), so only one algorithm can be used: Facteur
	// seals with the domain's facteur-rsa key.
	Key crypto.Signer
	// Headers are the fields the AMS signs, each as many times as the
	// message has it; nil for DefaultHeaders.
	Headers []string
}

// DefaultHeaders are the fields an AMS signs unless told otherwise: the
// ones Facteur signs with DKIM (RFC 6376 §5.4.1), From once more than
// present so none can be added (RFC 6376 §8.15), and the DKIM-Signature
// fields already there (RFC 8617 §4.1.2: SHOULD). ARC fields are never
// in h=: the seal covers them (§5.1.1). Authentication-Results is not
// either: the AAR is its sealed copy, and receivers remove such fields
// (RFC 8601 §5).
func DefaultHeaders() []string {
	return []string{"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "In-Reply-To",
		"References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "DKIM-Signature"}
}

// Seal returns the ARC set i=N+1 for msg, whose chain Verify found to be
// chain: the ARC-Seal, ARC-Message-Signature and
// ARC-Authentication-Results header fields in that order, each ending in
// CRLF, to be put before the message as it is. results are this server's
// findings (the delivery transaction's), copied into the AAR with the arc
// result of chain unless they have one.
//
// The seal says cv=none for a message without a chain, cv=pass for one
// that passed, and cv=fail for one that failed or was temperror (RFC
// 8617 §5.2.1: every failure is permanent); a cv=fail seal covers its own
// set only (§5.1.2). The AMS is relaxed/relaxed, t= is now.
func (s *Sealer) Seal(msg io.Reader, chain ChainResult, results []authres.Result, now time.Time) (string, error) {
	cv, err := sealCV(chain)
	if err != nil {
		return "", err
	}
	alg, err := s.check()
	if err != nil {
		return "", err
	}
	br := bufio.NewReader(msg)
	hdr, err := readHeader(br)
	if err != nil {
		return "", err
	}
	body := bodyKey{relaxed: true, limit: -1}
	bodies, err := bodyHashes(br, []bodyKey{body})
	if err != nil {
		return "", err
	}
	var sets []*arcSet
	if cv == "pass" {
		if sets, err = priorSets(hdr, chain.Instances); err != nil {
			return "", err
		}
	}
	i := chain.Instances + 1
	aar := s.aar(i, chain, results)
	ams, err := s.ams(hdr, i, alg, bodies[body], now)
	if err != nil {
		return "", err
	}
	as, err := s.seal(append(sets, &arcSet{aar: &field{raw: aar}, ams: &field{raw: ams}}), i, cv, alg, now)
	if err != nil {
		return "", err
	}
	return as + ams + aar, nil
}

// sealCV is the cv= of the next seal over chain (RFC 8617 §4.4, §5.1).
func sealCV(chain ChainResult) (string, error) {
	switch {
	case chain.NewestCV == "fail":
		return "", ErrChainFailed
	case chain.Instances >= MaxInstances:
		return "", ErrChainFull
	}
	switch chain.Value {
	case authres.ResultNone:
		if chain.Instances == 0 {
			return "none", nil
		}
	case authres.ResultPass:
		return "pass", nil
	case authres.ResultFail, authres.ResultTempError:
		return "fail", nil
	}
	return "", fmt.Errorf("arc: cannot seal a chain whose result is %q", chain.Value)
}

// check validates the sealer's settings and returns its algorithm.
func (s *Sealer) check() (string, error) {
	if !validName(s.Domain) || !validName(s.Selector) {
		return "", fmt.Errorf("arc: malformed domain %q or selector %q", s.Domain, s.Selector)
	}
	if s.AuthServID == "" || strings.ContainsFunc(s.AuthServID, func(r rune) bool { return r <= ' ' || r == ';' || r == 0x7f }) {
		return "", fmt.Errorf("arc: malformed authserv-id %q", s.AuthServID)
	}
	if s.Key == nil {
		return "", errors.New("arc: no key")
	}
	switch s.Key.Public().(type) {
	case *rsa.PublicKey:
		return "rsa-sha256", nil
	case ed25519.PublicKey:
		return "ed25519-sha256", nil
	}
	return "", fmt.Errorf("arc: unsupported key %T", s.Key.Public())
}

// priorSets are the n sets of the message, which Verify found valid.
func priorSets(hdr []field, n int) ([]*arcSet, error) {
	col := collect(hdr)
	if col == nil {
		return nil, errors.New("arc: the message has no ARC chain, the result says it passed")
	}
	sets, err := col.chain()
	if err == nil && len(sets) != n {
		err = fmt.Errorf("%d sets, the result says %d", len(sets), n)
	}
	if err != nil {
		return nil, fmt.Errorf("arc: the message is not the one validated: %v", err)
	}
	return sets, nil
}

// aar is the ARC-Authentication-Results field (RFC 8617 §4.1.1): i=, then
// an Authentication-Results payload.
func (s *Sealer) aar(i int, chain ChainResult, results []authres.Result) string {
	hasARC := slices.ContainsFunc(results, func(r authres.Result) bool {
		g, ok := r.(*authres.GenericResult)
		_, arc := r.(*authres.ARCResult)
		return arc || ok && strings.EqualFold(g.Method, "arc")
	})
	if !hasARC {
		results = append(slices.Clip(results), chain.AuthResult(netip.Addr{}))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: i=%d; %s", nameAAR, i, s.AuthServID)
	for _, r := range results {
		if one := formatResult(r); one != "" {
			b.WriteString(";\r\n\t" + one)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// formatResult is one result of an Authentication-Results payload,
// "method=value props", safe in a header field.
func formatResult(r authres.Result) string {
	if a, ok := r.(*authres.ARCResult); ok {
		// go-msgauth v0.7.0 does not name the method of an ARCResult.
		p := map[string]string{"smtp.remote-ip": a.RemoteIP}
		if a.OldestPass > 0 {
			p["header.oldest-pass"] = strconv.Itoa(a.OldestPass)
		}
		r = &authres.GenericResult{Method: "arc", Value: a.Value, Params: p}
	}
	one := strings.TrimPrefix(authres.Format("", []authres.Result{r}), "; ")
	if strings.HasPrefix(one, "=") {
		return "" // a result type authres cannot name
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, one))
}

// ams is the ARC-Message-Signature field (RFC 8617 §4.1.2): a DKIM
// signature without v=, i= being the instance.
func (s *Sealer) ams(hdr []field, i int, alg string, bh []byte, now time.Time) (string, error) {
	names := s.signedHeaders(hdr)
	var f folder
	f.start(nameAMS)
	f.tagList("i="+strconv.Itoa(i), "a="+alg, "c=relaxed/relaxed", "d="+s.Domain, "s="+s.Selector,
		"t="+strconv.FormatInt(now.Unix(), 10))
	f.list("h", names)
	f.tag("bh=" + base64.StdEncoding.EncodeToString(bh))
	data := strings.Join(pick(hdr, names, true), "")
	return s.finish(&f, data)
}

// signedHeaders is the h= list for hdr: each field of s.Headers as often
// as hdr has it, From once more; never an ARC field.
func (s *Sealer) signedHeaders(hdr []field) []string {
	want := s.Headers
	if want == nil {
		want = DefaultHeaders()
	}
	count := map[string]int{}
	for _, f := range hdr {
		count[strings.ToLower(f.name)]++
	}
	names := []string{"From"}
	for _, n := range want {
		if isARC(n) || !fieldName(n) {
			continue
		}
		for range count[strings.ToLower(n)] {
			names = append(names, n)
		}
	}
	return names
}

// seal is the ARC-Seal field (RFC 8617 §4.1.3) over sets, the last of
// which is the new one, without its AS yet.
func (s *Sealer) seal(sets []*arcSet, i int, cv, alg string, now time.Time) (string, error) {
	var f folder
	f.start(nameAS)
	f.tagList("i="+strconv.Itoa(i), "a="+alg, "t="+strconv.FormatInt(now.Unix(), 10), "cv="+cv,
		"d="+s.Domain, "s="+s.Selector)
	return s.finish(&f, sealPrefix(sets))
}

// finish signs data followed by the field f holds with b= empty (RFC
// 6376 §3.7), and returns the field with its signature.
func (s *Sealer) finish(f *folder, data string) (string, error) {
	f.tag("b=")
	digest := sha256.Sum256([]byte(data + signedField(f.String()+"\r\n", true)))
	var opts crypto.SignerOpts = crypto.SHA256
	if _, ed := s.Key.Public().(ed25519.PublicKey); ed {
		opts = crypto.Hash(0) // Ed25519 signs the digest itself (RFC 8463 §3)
	}
	sig, err := s.Key.Sign(rand.Reader, digest[:], opts)
	if err != nil {
		return "", fmt.Errorf("arc: signing: %w", err)
	}
	f.base64(base64.StdEncoding.EncodeToString(sig))
	return f.String() + "\r\n", nil
}
