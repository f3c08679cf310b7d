package arc

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
)

// go test -run TestGenerate -update rewrites arc-validation-tests.yml and
// arc-sign-tests.yml from the cases below and the keys in testdata/keys
// (arc-dkimpy-tests.yml is made with dkimpy, see dkimpy_arc.py).
var update = flag.Bool("update", false, "rewrite the generated testdata files")

// genNow is the t= of every generated signature.
var genNow = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// genBase is the message the generated chains start from; its body has
// white space for relaxed canonicalization to remove.
const genBase = "Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n" +
	"\tby mx.example.org; Mon, 7 Dec 2026 10:00:00 +0000\r\n" +
	"From: Alice <alice@example.com>\r\nTo: friends@example.org\r\nSubject: Lunch\r\n" +
	"Date: Mon, 7 Dec 2026 09:59:00 +0000\r\nMessage-ID: <lunch@example.com>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
	"Shall we meet  at noon?  \r\n\r\n-- \r\nAlice\r\n\r\n"

// gen builds test messages with the test keys.
type gen struct {
	t        testing.TB
	c        *Check
	rsa, ed  crypto.Signer
	pem      map[string]string // "rsa", "ed" → PKCS #8 PEM
	records  map[string]string
	dnsFails []string
}

func newGen(t testing.TB) *gen {
	g := &gen{t: t, pem: map[string]string{}}
	for _, name := range []string{"rsa", "ed25519"} {
		b, err := os.ReadFile(filepath.Join("testdata", "keys", name+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		g.pem[name] = string(b)
	}
	g.rsa, g.ed = parseKeyPEM(t, g.pem["rsa"]), parseKeyPEM(t, g.pem["ed25519"])
	g.records = map[string]string{
		"rsa._domainkey.example.org":       keyRecord(t, g.rsa),
		"ed._domainkey.example.org":        keyRecord(t, g.ed),
		"rsa._domainkey.lists.example.net": keyRecord(t, g.rsa),
		"ed._domainkey.relay.example.com":  keyRecord(t, g.ed),
		"revoked._domainkey.example.org":   "v=DKIM1; k=rsa; p=",
	}
	g.dnsFails = []string{"broken._domainkey.example.org"}
	g.c = checker(t, g.records, g.dnsFails)
	return g
}

// keyRecord is the DNS key record of k (RFC 6376 §3.6.1, RFC 8463 §4.2).
func keyRecord(t testing.TB, k crypto.Signer) string {
	switch p := k.Public().(type) {
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(p)
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			t.Fatal(err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	}
	t.Fatalf("key %T", k)
	return ""
}

// sealer seals for domain with selector: the Ed25519 key for selectors
// starting with "ed", the RSA key otherwise.
func (g *gen) sealer(domain, selector string) *Sealer {
	key := g.rsa
	if strings.HasPrefix(selector, "ed") {
		key = g.ed
	}
	return &Sealer{AuthServID: "mx." + domain, Domain: domain, Selector: selector, Key: key}
}

var genResults = []authres.Result{&authres.SPFResult{Value: authres.ResultPass, From: "example.com"},
	&authres.DKIMResult{Value: authres.ResultNone}}

// hop is what an intermediary does: validate msg, change it with edit
// (nil: leave it), seal and prepend the set.
func (g *gen) hop(msg string, s *Sealer, edit func(string) string) string {
	g.t.Helper()
	chain := g.c.Verify(context.Background(), strings.NewReader(msg))
	if edit != nil {
		msg = edit(msg)
	}
	h, err := s.Seal(strings.NewReader(msg), chain, genResults, genNow)
	if err != nil {
		g.t.Fatal(err)
	}
	return h + msg
}

// hops seals msg once for each sealer, in order.
func (g *gen) hops(msg string, ss ...*Sealer) string {
	for _, s := range ss {
		msg = g.hop(msg, s, nil)
	}
	return msg
}

// craft adds a set with instance i and cv of its choosing, validly
// signed over the sets below i that msg has: what a broken sealer makes.
func (g *gen) craft(msg string, s *Sealer, i int, cv string) string {
	g.t.Helper()
	alg, err := s.check()
	if err != nil {
		g.t.Fatal(err)
	}
	br := bufio.NewReader(strings.NewReader(msg))
	hdr, _ := readHeader(br)
	body := bodyKey{relaxed: true, limit: -1}
	bodies, _ := bodyHashes(br, []bodyKey{body})
	var sets []*arcSet
	if col := collect(hdr); col != nil {
		for j := 1; j < i; j++ {
			if set := col.sets[j]; set != nil && set.as != nil {
				sets = append(sets, set)
			}
		}
	}
	aar := s.aar(i, ChainResult{Value: authres.ResultPass}, genResults)
	ams, err := s.ams(hdr, i, alg, bodies[body], genNow)
	if err != nil {
		g.t.Fatal(err)
	}
	as, err := s.seal(append(sets, &arcSet{aar: &field{raw: aar}, ams: &field{raw: ams}}), i, cv, alg, genNow)
	if err != nil {
		g.t.Fatal(err)
	}
	return as + ams + aar + msg
}

// simpleAMS replaces the AMS of a one-set msg by one with c=simple/simple
// and l= the body's length, re-sealed: RFC 6376's other canonicalization
// and body length limit, which Facteur's sealer never uses.
func (g *gen) simpleAMS(s *Sealer) string {
	g.t.Helper()
	_, body, _ := strings.Cut(genBase, "\r\n\r\n")
	bodies, _ := bodyHashes(bufio.NewReader(strings.NewReader(body)), []bodyKey{{relaxed: false, limit: -1}})
	hdr := headerOf(g.t, genBase)
	names := s.signedHeaders(hdr)
	var f folder
	f.start(nameAMS)
	f.tagList("i=1", "a=rsa-sha256", "c=simple/simple", "d="+s.Domain, "s="+s.Selector,
		"l="+strconv.Itoa(len(strings.TrimRight(body, "\r\n"))+2))
	f.list("h", names)
	f.tag("bh=" + base64.StdEncoding.EncodeToString(bodies[bodyKey{relaxed: false, limit: -1}]))
	f.tag("b=")
	digest := sha256Sum(strings.Join(pick(hdr, names, false), "") + signedField(f.String()+"\r\n", false))
	sig, err := s.Key.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		g.t.Fatal(err)
	}
	f.base64(base64.StdEncoding.EncodeToString(sig))
	ams := f.String() + "\r\n"
	aar := s.aar(1, ChainResult{Value: authres.ResultNone}, genResults)
	alg, _ := s.check()
	as, err := s.seal([]*arcSet{{aar: &field{raw: aar}, ams: &field{raw: ams}}}, 1, "none", alg, genNow)
	if err != nil {
		g.t.Fatal(err)
	}
	return as + ams + aar + genBase + "Added below the signed length.\r\n"
}

// mapFields rewrites the header of msg field by field.
func mapFields(msg string, fn func(f field) []field) string {
	hdr, body, _ := strings.Cut(msg, "\r\n\r\n")
	fields, _ := readHeader(bufio.NewReader(strings.NewReader(hdr + "\r\n\r\n")))
	var b strings.Builder
	for _, f := range fields {
		for _, out := range fn(f) {
			b.WriteString(out.raw)
		}
	}
	return b.String() + "\r\n" + body
}

// instanceIs reports whether f is the ARC field name of instance i.
func instanceIs(f field, name string, i int) bool {
	if !strings.EqualFold(f.name, name) {
		return false
	}
	n, _, _, err := instanceOf(&f)
	return err == nil && n == i
}

// drop removes the ARC field name of instance i.
func drop(name string, i int) func(string) string {
	return func(msg string) string {
		return mapFields(msg, func(f field) []field {
			if instanceIs(f, name, i) {
				return nil
			}
			return []field{f}
		})
	}
}

// dropSet removes the three fields of instance i.
func dropSet(i int) func(string) string {
	return func(msg string) string {
		return drop(nameAAR, i)(drop(nameAMS, i)(drop(nameAS, i)(msg)))
	}
}

// editField replaces old by new in the ARC field name of instance i.
func editField(name string, i int, old, new string) func(string) string {
	return func(msg string) string {
		return mapFields(msg, func(f field) []field {
			if instanceIs(f, name, i) {
				f.raw = strings.Replace(f.raw, old, new, 1)
			}
			return []field{f}
		})
	}
}

// duplicate repeats the ARC field name of instance i.
func duplicate(name string, i int) func(string) string {
	return func(msg string) string {
		return mapFields(msg, func(f field) []field {
			if instanceIs(f, name, i) {
				return []field{f, f}
			}
			return []field{f}
		})
	}
}

// replace changes the first old in msg.
func replace(old, new string) func(string) string {
	return func(msg string) string { return strings.Replace(msg, old, new, 1) }
}

// genCase is one generated validation test.
type genCase struct {
	name, spec, desc string
	cv               string
	oldestPass       int
	dnsFail          []string
	msg              string
}

func (g *gen) validationCases() []genCase {
	org, orgEd := g.sealer("example.org", "rsa"), g.sealer("example.org", "ed")
	list, relay := g.sealer("lists.example.net", "rsa"), g.sealer("relay.example.com", "ed")
	one, two := g.hops(genBase, org), g.hops(genBase, org, relay)
	three := g.hops(genBase, org, relay, list)
	listEdit := func(m string) string {
		return strings.Replace(replace("Subject: Lunch", "Subject: [friends] Lunch")(m), "Alice\r\n", "Alice\r\n\r\n--\r\nfriends mailing list\r\n", 1)
	}
	fifty := genBase
	for range MaxInstances {
		fifty = g.hop(fifty, relay, nil)
	}
	badBody := replace("at noon?", "at one?")(one)
	return []genCase{
		{"none_unsealed", "RFC 8617 §5.2 step 1", "a message without ARC header fields has no chain", "none", 0, nil, genBase},
		{"pass_one_rsa", "RFC 8617 §5.2", "one set, RSA-SHA256, cv=none", "pass", 0, nil, one},
		{"pass_one_ed25519", "RFC 8617 §5.2, RFC 8463 §3", "one set, Ed25519-SHA256", "pass", 0, nil, g.hops(genBase, orgEd)},
		{"pass_two", "RFC 8617 §5.2", "two sets, RSA then Ed25519, cv=none then cv=pass", "pass", 0, nil, two},
		{"pass_three", "RFC 8617 §5.2", "three sets by three domains", "pass", 0, nil, three},
		{"pass_oldest_pass", "RFC 8617 §5.2 step 5", "a mailing list tagged the Subject and added a footer after set 1, then sealed set 2, a relay set 3: the chain passes, AMS 1 no longer validates, oldest-pass is 2",
			"pass", 2, nil, g.hop(g.hop(one, list, listEdit), relay, nil)},
		{"pass_ams_simple_length", "RFC 6376 §3.4.1, §3.4.3, §3.5 l=", "an AMS with c=simple/simple and l=, text added after the signed length", "pass", 0, nil, g.simpleAMS(org)},
		{"pass_fifty_sets", "RFC 8617 §4.2.1.1", "fifty sets, the most a chain may have", "pass", 0, nil, fifty},
		{"fail_fifty_one_sets", "RFC 8617 §4.2.1.1, §5.2 step 1", "a 51st set on top of fifty", "fail", 0, nil, g.craft(fifty, relay, 51, "pass")},
		{"fail_body_changed", "RFC 8617 §5.2 step 4", "the body changed after the newest AMS", "fail", 0, nil, badBody},
		{"fail_header_changed", "RFC 8617 §5.2 step 4", "a signed header field changed after the newest AMS", "fail", 0, nil, replace("Subject: Lunch", "Subject: Dinner")(two)},
		{"fail_aar_changed", "RFC 8617 §5.1.1, §5.2 step 6", "the AAR of set 1, which only the seals cover, changed", "fail", 0, nil, editField(nameAAR, 1, "spf=pass", "spf=fail")(two)},
		{"fail_seal_changed", "RFC 8617 §5.2 step 6", "the t= of ARC-Seal i=1 changed", "fail", 0, nil, editField(nameAS, 1, "t=1796637600", "t=1796637601")(two)},
		{"fail_seal_alg_changed", "RFC 8617 §5.2 step 6", "ARC-Seal i=1 claims a=ed25519-sha256 over an RSA signature", "fail", 0, nil, editField(nameAS, 1, "a=rsa-sha256", "a=ed25519-sha256")(one)},
		{"fail_seal_removed", "RFC 8617 §5.2 step 3", "the ARC-Seal of set 1 removed", "fail", 0, nil, drop(nameAS, 1)(two)},
		{"fail_ams_removed", "RFC 8617 §5.2 step 3", "the AMS of the only set removed", "fail", 0, nil, drop(nameAMS, 1)(one)},
		{"fail_aar_missing", "RFC 8617 §5.2 step 3", "the AAR of set 2 removed", "fail", 0, nil, drop(nameAAR, 2)(two)},
		{"fail_gap", "RFC 8617 §5.2 step 3", "set 2 of 3 removed: instances 1 and 3", "fail", 0, nil, dropSet(2)(three)},
		{"fail_duplicate_ams", "RFC 8617 §5.2 step 3", "two ARC-Message-Signature fields with i=1", "fail", 0, nil, duplicate(nameAMS, 1)(one)},
		{"fail_duplicate_set", "RFC 8617 §5.2 step 3", "a second, validly signed set 1", "fail", 0, nil, g.craft(one, orgEd, 1, "none")},
		{"fail_instance_zero", "RFC 8617 §4.2.1.1", "a set with i=0", "fail", 0, nil, g.craft(genBase, org, 0, "none")},
		{"fail_instance_51", "RFC 8617 §4.2.1.1", "a lone set with i=51", "fail", 0, nil, g.craft(genBase, org, 51, "none")},
		{"fail_cv_none_above_one", "RFC 8617 §5.2 step 3, §4.4", "set 2 validly sealed with cv=none", "fail", 0, nil, g.craft(one, relay, 2, "none")},
		{"fail_cv_pass_on_one", "RFC 8617 §5.2 step 3, §4.4", "set 1 validly sealed with cv=pass", "fail", 0, nil, g.craft(genBase, org, 1, "pass")},
		{"fail_cv_fail_newest", "RFC 8617 §5.2 step 2, §5.1.2", "set 2 sealed cv=fail over a changed body, covering its own set only", "fail", 0, nil, g.hop(badBody, relay, nil)},
		{"fail_cv_fail_inside", "RFC 8617 §5.2 step 3", "set 2 says cv=fail, set 3 cv=pass above it", "fail", 0, nil, g.craft(g.hop(badBody, relay, nil), list, 3, "pass")},
		{"fail_key_missing", "RFC 6376 §6.1.2", "the selector has no key in DNS", "fail", 0, nil, g.hops(genBase, g.sealer("example.org", "gone"))},
		{"fail_key_revoked", "RFC 6376 §3.6.1", "the key record has an empty p=", "fail", 0, nil, g.hops(genBase, g.sealer("example.org", "revoked"))},
		{"fail_key_type", "RFC 6376 §3.6.1 k=", "an Ed25519 signature whose selector has an RSA key", "fail", 0, nil, g.hops(genBase, &Sealer{AuthServID: "mx.example.org", Domain: "example.org", Selector: "rsa", Key: g.ed})},
		{"temperror_servfail", "RFC 8601 §2.7.1 temperror; RFC 8617 §5.2.1", "the key's DNS server answers SERVFAIL", "temperror", 0, g.dnsFails, g.hops(genBase, g.sealer("example.org", "broken"))},
		{"fail_rsa_sha1", "RFC 8301 §3.1", "an ARC-Seal claiming a=rsa-sha1", "fail", 0, nil, editField(nameAS, 1, "a=rsa-sha256", "a=rsa-sha1")(one)},
		{"fail_seal_h_tag", "RFC 8617 §4.1.3", "an ARC-Seal with an h= tag", "fail", 0, nil, editField(nameAS, 1, "cv=none;", "cv=none; h=from;")(one)},
		{"fail_malformed_tags", "RFC 6376 §3.2", "an AMS with its d= twice", "fail", 0, nil, editField(nameAMS, 1, "d=example.org;", "d=example.org; d=example.org;")(one)},
		{"fail_aar_no_instance", "RFC 8617 §4.1.1", "an AAR without i=", "fail", 0, nil, editField(nameAAR, 1, "i=1; ", "")(one)},
	}
}

// signGen is one generated sign test, of the RSA or the Ed25519 key.
type signGen struct {
	name, spec, desc, headers string
	msg                       string
}

func (g *gen) signCases(ed bool) []signGen {
	ar := "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com;\r\n\tdkim=none\r\n"
	one := g.hops(genBase, g.sealer("relay.example.com", "ed"))
	if ed {
		return []signGen{{"sign_ed25519_first", "RFC 8617 §5.1, RFC 8463 §3", "the first set, Ed25519-SHA256", "", ar + genBase}}
	}
	return []signGen{
		{"sign_first", "RFC 8617 §5.1", "no chain yet: i=1, cv=none", "", ar + genBase},
		{"sign_second", "RFC 8617 §5.1, §5.1.1", "a chain that passes: i=2, cv=pass, the seal covers both sets",
			"", "Authentication-Results: mx.example.org; arc=pass smtp.remote-ip=192.0.2.2\r\n" + one},
		{"sign_failed_chain", "RFC 8617 §5.1.2, §5.2.1", "a chain that fails: i=2, cv=fail, the seal covers its own set",
			"", ar + replace("at noon?", "at six?")(one)},
		{"sign_header_list", "RFC 8617 §4.1.2", "the AMS signs the fields asked for, From once more", "from:subject:date", ar + genBase},
	}
}

func TestGenerate(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the generated test data")
	}
	g := newGen(t)
	var v strings.Builder
	v.WriteString("# Generated by go test -run TestGenerate -update (gen_test.go): chains\n" +
		"# sealed by this package with the keys of testdata/keys, then changed.\n" +
		"# Extensions to the ARC test suite format: cv may be Temperror;\n" +
		"# oldest-pass (RFC 8617 §5.2 step 5, 0 when every AMS validates);\n" +
		"# dns-fail lists names the DNS server answers SERVFAIL for.\n")
	v.WriteString("description: Facteur's ARC validation cases (RFC 8617 §5.2)\ntests:\n")
	for _, c := range g.validationCases() {
		emitValidation(&v, c)
	}
	emitTail(&v, g.records, "", "", "")
	write(t, "arc-validation-tests.yml", v.String())

	var s strings.Builder
	s.WriteString("# Generated by go test -run TestGenerate -update (gen_test.go): what\n" +
		"# Seal gives, t= and the key fixed (RSA and Ed25519 signatures are\n" +
		"# deterministic). Every result is also validated by the test.\n")
	for _, ed := range []bool{false, true} {
		s.WriteString("---\ndescription: Facteur's ARC sealing cases (RFC 8617 §5.1)\ntests:\n")
		dom, sel, key := "example.org", "rsa", g.pem["rsa"]
		if ed {
			dom, sel, key = "example.org", "ed", g.pem["ed25519"]
		}
		for _, c := range g.signCases(ed) {
			g.emitSign(&s, c, dom, sel, key)
		}
		emitTail(&s, g.records, dom, sel, key)
	}
	write(t, "arc-sign-tests.yml", s.String())
}

func write(t *testing.T, name, data string) {
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func emitValidation(b *strings.Builder, c genCase) {
	fmt.Fprintf(b, "  %s:\n    spec: %q\n    description: %q\n", c.name, c.spec, c.desc)
	emitBlock(b, "message", c.msg)
	fmt.Fprintf(b, "    cv: %s\n", strings.ToUpper(c.cv[:1])+c.cv[1:])
	if c.oldestPass > 0 {
		fmt.Fprintf(b, "    oldest-pass: %d\n", c.oldestPass)
	}
	if len(c.dnsFail) > 0 {
		fmt.Fprintf(b, "    dns-fail: [%s]\n", strings.Join(c.dnsFail, ", "))
	}
}

func (g *gen) emitSign(b *strings.Builder, c signGen, domain, sel, key string) {
	tc := signCase{Message: strings.ReplaceAll(c.msg, "\r\n", "\n"), T: genNow.Unix(), SigHeaders: c.headers, SrvID: "mx.example.org"}
	aar, ams, as := runSign(g.t, g.c, signDoc{Domain: domain, Sel: sel}, parseKeyPEM(g.t, key), tc, c.msg)
	fmt.Fprintf(b, "  %s:\n    spec: %q\n    description: %q\n", c.name, c.spec, c.desc)
	emitBlock(b, "message", c.msg)
	fmt.Fprintf(b, "    t: %d\n", tc.T)
	if c.headers != "" {
		fmt.Fprintf(b, "    sig-headers: %s\n", c.headers)
	}
	fmt.Fprintf(b, "    srv-id: %s\n    AAR: %q\n    AMS: %q\n    AS: %q\n", tc.SrvID, unfold(aar), unfold(ams), unfold(as))
}

// emitBlock writes a literal block scalar of msg with LF line ends,
// keeping its final line ends.
func emitBlock(b *strings.Builder, key, msg string) {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	style := "|"
	if strings.HasSuffix(msg, "\n\n") {
		style = "|+"
	}
	fmt.Fprintf(b, "    %s: %s\n", key, style)
	for _, l := range strings.SplitAfter(strings.TrimSuffix(msg, "\n"), "\n") {
		switch l {
		case "":
		case "\n":
			b.WriteString("\n")
		default:
			b.WriteString("      " + l)
		}
	}
	b.WriteString("\n")
}

func emitTail(b *strings.Builder, recs map[string]string, domain, sel, key string) {
	b.WriteString("txt-records:\n")
	names := make([]string, 0, len(recs))
	for n := range recs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(b, "  %s: %q\n", n, recs[n])
	}
	if domain != "" {
		fmt.Fprintf(b, "domain: %s\nsel: %s\nprivatekey: |\n", domain, sel)
		for l := range strings.Lines(strings.TrimSpace(key)) {
			b.WriteString("  " + strings.TrimSuffix(l, "\n") + "\n")
		}
	}
}

func sha256Sum(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}
