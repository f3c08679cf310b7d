// Package arc is the Authenticated Received Chain (RFC 8617): the
// inbound check that validates the ARC sets of a received message (§5.2)
// and the sealer that adds Facteur's own set when it forwards one (§5.1).
//
// An ARC set is three header fields with one instance number i: the
// ARC-Authentication-Results (AAR) that copies what the intermediary
// found, the ARC-Message-Signature (AMS), a DKIM signature of the message
// as it left, and the ARC-Seal (AS), a signature over the AAR, AMS and AS
// of every set up to its own. Keys are DKIM keys, fetched from DNS at
// selector._domainkey.domain; RSA-SHA256 and Ed25519-SHA256 (RFC 8463)
// are understood. Header and body canonicalization (RFC 6376 §3.4) is
// written here: go-msgauth keeps its own unexported.
//
// A key that cannot be fetched (a DNS failure) makes the result
// temperror in Authentication-Results, so the record says what happened;
// RFC 8617 has no such chain state (§5.2.1: every failure is permanent),
// so a chain that was temperror is sealed cv=fail.
package arc

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dns"
)

// Check validates ARC chains at the end of DATA.
type Check struct {
	Resolver dns.Resolver
	// TrustedSealers are the forwarders (d= of their ARC-Seal) whose
	// results this server trusts when their chain passes: DMARC then lets
	// their forwarded mail through (Transaction.TrustedForwarder).
	TrustedSealers []string
}

var _ delivery.DataCheck = (*Check)(nil)

// Name implements delivery.Check.
func (c *Check) Name() string { return "arc" }

// Data implements delivery.DataCheck. It records one arc result and
// never refuses (RFC 8617 §5.2.2): what a chain is worth is for local
// policy, DMARC's, to weigh.
func (c *Check) Data(ctx context.Context, tx *delivery.Transaction, msg *delivery.Message) (delivery.Verdict, error) {
	b, err := msg.Open(ctx)
	if err != nil {
		return delivery.Verdict{}, err
	}
	defer b.Close()
	var ip netip.Addr
	if tx.Conn != nil {
		ip = tx.Conn.IP
	}
	chain := c.Verify(ctx, b)
	v := delivery.Verdict{Results: []authres.Result{chain.AuthResult(ip)}}
	if chain.Value == authres.ResultPass && len(chain.Sealers) > 0 && c.trusted(chain.Sealers[0]) {
		v.TrustedForwarder = chain.Sealers[0]
	}
	return v, nil
}

// trusted reports whether the newest sealer, the hop that handed us the
// message, is one whose results we trust (RFC 8617 §7.2).
func (c *Check) trusted(domain string) bool {
	for _, t := range c.TrustedSealers {
		if strings.EqualFold(strings.TrimSuffix(t, "."), domain) {
			return true
		}
	}
	return false
}

// ChainResult is what validating a message's ARC chain found.
type ChainResult struct {
	// Value is none (no ARC header field), pass, fail, or temperror
	// when a key could not be fetched.
	Value  authres.ResultValue
	Reason string // why it is fail or temperror
	// Instances is N, the highest instance number among the ARC fields
	// (0 without any): the next set is N+1.
	Instances int
	// NewestCV is the cv= of ARC-Seal N ("none", "pass", "fail"), "" when
	// there is none that can be read. A chain whose newest seal says
	// fail is not sealed again (RFC 8617 §5.1).
	NewestCV string
	// OldestPass is the "oldest-pass" of RFC 8617 §5.2 step 5, for a
	// chain that passes: 0 when every AMS still validates, otherwise the
	// lowest instance from which every AMS does (an intermediary
	// changed the message before it).
	OldestPass int
	// Sealers are the d= of each ARC-Seal and AuthResults the payloads
	// of the AARs ("authserv-id; spf=pass …", unfolded), newest first;
	// set when the chain's structure is valid, to be believed only when
	// Value is pass.
	Sealers     []string
	AuthResults []string
}

// AuthResult is the "arc" result for Authentication-Results (RFC 8617
// §10.1: header.oldest-pass, smtp.remote-ip), with the reason of a
// failure. It is an authres.GenericResult: go-msgauth v0.7.0 formats an
// *authres.ARCResult without its method name ("=pass").
func (r ChainResult) AuthResult(remoteIP netip.Addr) authres.Result {
	p := map[string]string{}
	if r.Reason != "" {
		p["reason"] = r.Reason
	}
	if r.OldestPass > 0 {
		p["header.oldest-pass"] = strconv.Itoa(r.OldestPass)
	}
	if remoteIP.IsValid() {
		p["smtp.remote-ip"] = remoteIP.String()
	}
	return &authres.GenericResult{Method: "arc", Value: r.Value, Params: p}
}

// Verify validates the ARC chain of the message r (RFC 8617 §5.2).
func (c *Check) Verify(ctx context.Context, r io.Reader) ChainResult {
	br := bufio.NewReader(r)
	hdr, err := readHeader(br)
	if err != nil {
		return ChainResult{Value: authres.ResultTempError, Reason: "reading the message: " + err.Error()}
	}
	col := collect(hdr)
	if col == nil { // step 1: no ARC set
		return ChainResult{Value: authres.ResultNone}
	}
	res := ChainResult{Value: authres.ResultFail, Instances: col.highest, NewestCV: col.newestCV()}
	if res.NewestCV == "fail" { // step 2
		res.Reason = fmt.Sprintf("ARC-Seal i=%d has cv=fail (RFC 8617 §5.2 step 2)", col.highest)
		return res
	}
	sets, err := col.chain() // step 3
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	for i := len(sets) - 1; i >= 0; i-- {
		res.Sealers = append(res.Sealers, sets[i].asTags["d"])
		res.AuthResults = append(res.AuthResults, sets[i].payload)
	}
	v := &verifier{ctx: ctx, hdr: hdr, sets: sets, keys: &keys{resolver: c.Resolver, cache: map[string]keyAnswer{}}}
	if err := v.run(br); err != nil {
		res.Value, res.Reason = authres.ResultFail, err.Error()
		if errors.As(err, new(tempError)) {
			res.Value = authres.ResultTempError
		}
		return res
	}
	res.Value, res.OldestPass = authres.ResultPass, v.oldestPass()
	return res
}

// verifier checks the signatures of a chain whose structure is valid.
type verifier struct {
	ctx    context.Context
	hdr    []field
	sets   []*arcSet // sets[i-1] is instance i
	keys   *keys
	bodies map[bodyKey][]byte
}

// run validates the newest AMS (RFC 8617 §5.2 step 4) and every AS from
// the newest down (step 6). Step 5, oldest-pass, comes after: it does not
// change the result, so a failed chain does not pay for it.
func (v *verifier) run(body *bufio.Reader) error {
	var need []bodyKey
	for _, s := range v.sets {
		if k, err := amsBodyKey(s.amsTags); err == nil {
			need = append(need, k)
		}
	}
	var err error
	if v.bodies, err = bodyHashes(body, need); err != nil {
		return tempError{fmt.Errorf("reading the message: %v", err)}
	}
	n := len(v.sets)
	if err := v.ams(n); err != nil {
		return fmt.Errorf("ARC-Message-Signature i=%d: %w", n, err)
	}
	for i := n; i >= 1; i-- {
		if err := v.seal(i); err != nil {
			return fmt.Errorf("ARC-Seal i=%d: %w", i, err)
		}
	}
	return nil
}

// oldestPass is RFC 8617 §5.2 step 5: from N-1 down, the first AMS that
// does not validate makes the instance above it the oldest pass; 0 when
// all do. A key that cannot be fetched counts as not validating.
func (v *verifier) oldestPass() int {
	for i := len(v.sets) - 1; i >= 1; i-- {
		if v.ams(i) != nil {
			return i + 1
		}
	}
	return 0
}

// amsBodyKey is the body hash an AMS needs.
func amsBodyKey(tags map[string]string) (bodyKey, error) {
	_, body, err := parseCanon(tags["c"])
	if err != nil {
		return bodyKey{}, err
	}
	l, err := parseLength(tags["l"])
	return bodyKey{relaxed: body, limit: l}, err
}

// required reports the first tag of names missing from tags.
func required(tags map[string]string, names ...string) error {
	for _, n := range names {
		if _, ok := tags[n]; !ok {
			return fmt.Errorf("no %s= tag", n)
		}
	}
	return nil
}

// ams validates the ARC-Message-Signature of instance i like a DKIM
// signature (RFC 8617 §4.1.2, RFC 6376 §6.1.3): body hash first, which
// needs no DNS, then the signature over the h= fields.
func (v *verifier) ams(i int) error {
	s := v.sets[i-1]
	t := s.amsTags
	if err := required(t, "a", "b", "bh", "d", "h", "s"); err != nil {
		return err
	}
	kt, err := keyType(t["a"])
	if err != nil {
		return err
	}
	relaxed, _, err := parseCanon(t["c"])
	if err != nil {
		return err
	}
	bk, err := amsBodyKey(t)
	if err != nil {
		return err
	}
	if bh := v.bodies[bk]; base64.StdEncoding.EncodeToString(bh) != noSpace(t["bh"]) {
		return errors.New("body hash does not match: the body changed (RFC 6376 §6.1.3)")
	}
	names := signedNames(t["h"])
	if len(names) == 0 {
		return errors.New("empty h=")
	}
	data := strings.Join(pick(v.hdr, names, relaxed), "") + signedField(s.ams.raw, relaxed)
	return v.check(t, kt, data)
}

// seal validates the ARC-Seal of instance i: relaxed canonicalization,
// no h= (RFC 8617 §4.1.3), over the sets 1 to i (§5.1.1).
func (v *verifier) seal(i int) error {
	t := v.sets[i-1].asTags
	if err := required(t, "a", "b", "cv", "d", "s"); err != nil {
		return err
	}
	if _, ok := t["h"]; ok {
		return errors.New("h= is not allowed in an ARC-Seal (RFC 8617 §4.1.3)")
	}
	kt, err := keyType(t["a"])
	if err != nil {
		return err
	}
	return v.check(t, kt, sealInput(v.sets[:i]))
}

// check verifies the b= of a signature with tags over data, with the
// key of its d= and s=.
func (v *verifier) check(t map[string]string, kt, data string) error {
	sig, err := base64.StdEncoding.DecodeString(noSpace(t["b"]))
	if err != nil {
		return fmt.Errorf("b=: %v", err)
	}
	pub, err := v.keys.get(v.ctx, t["d"], t["s"], kt)
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(data))
	return verifySig(pub, digest[:], sig)
}

// signedNames splits an h= tag (RFC 6376 §3.5: names separated by ":").
func signedNames(h string) []string {
	var out []string
	for n := range strings.SplitSeq(h, ":") {
		if n = strings.TrimFunc(n, isWSP); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// pick returns the canonical fields that names select (RFC 6376 §5.4.2):
// each name takes the lowest field of that name not yet taken; a name
// with none left adds nothing.
func pick(hdr []field, names []string, relaxed bool) []string {
	byName := map[string][]int{} // lower-case name → positions, top first
	for i, f := range hdr {
		n := strings.ToLower(f.name)
		byName[n] = append(byName[n], i)
	}
	var out []string
	for _, n := range names {
		pos := byName[strings.ToLower(n)]
		if len(pos) == 0 {
			continue
		}
		out = append(out, canonHeader(hdr[pos[len(pos)-1]].raw, relaxed))
		byName[strings.ToLower(n)] = pos[:len(pos)-1]
	}
	return out
}

// sealInput is what the ARC-Seal of the last of sets signs (RFC 8617
// §5.1.1): sealPrefix, then that seal with b= empty, without its final
// CRLF.
func sealInput(sets []*arcSet) string {
	return sealPrefix(sets) + signedField(sets[len(sets)-1].as.raw, true)
}

// sealPrefix is, for each set in order of instance, its AAR, AMS and AS
// in relaxed form, the last set without its AS.
func sealPrefix(sets []*arcSet) string {
	var b strings.Builder
	for i, s := range sets {
		b.WriteString(relaxedHeader(s.aar.raw))
		b.WriteString(relaxedHeader(s.ams.raw))
		if i < len(sets)-1 {
			b.WriteString(relaxedHeader(s.as.raw))
		}
	}
	return b.String()
}
