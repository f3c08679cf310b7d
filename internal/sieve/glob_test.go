package sieve

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestGlobMatchesRegexp checks globMatch against the regexp it replaces:
// the same verdict and the same wildcard texts (RFC 5229 §3.2).
func TestGlobMatchesRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alpha = "aAb*?\\."
	gen := func(n int, from string) string { return randString(r, n, from) }
	for range 20000 {
		p, v, fold := gen(8, alpha), gen(10, "aAb.*?\\"), r.IntN(2) == 0
		src := globToRegexp(p)
		if fold {
			src = "(?i)" + src
		}
		re := regexp.MustCompile(src)
		want := re.FindStringSubmatch(v)
		caps, ok := globMatch(p, v, fold, nil)
		if ok != (want != nil) {
			t.Fatalf("%q %q fold=%v: glob %v, regexp %v", p, v, fold, ok, want != nil)
		}
		if len(src) != globCost(p, fold) {
			t.Fatalf("%q: cost %d, regexp length %d", p, globCost(p, fold), len(src))
		}
		if !ok {
			continue
		}
		got := []string{v}
		for j := 0; j < len(caps); j += 2 {
			got = append(got, v[caps[j]:caps[j+1]])
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q %q: glob %q, regexp %q", p, v, got, want)
		}
	}
}

func TestContainsFold(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	gen := func(n int) string { return randString(r, n, "aAbB-") }
	for range 20000 {
		v, k := gen(12), gen(4)
		if got, want := containsFold(v, k), strings.Contains(strings.ToLower(v), strings.ToLower(k)); got != want {
			t.Fatalf("containsFold(%q, %q) = %v", v, k, got)
		}
		if got, want := compareFold(v, k), strings.Compare(strings.ToLower(v), strings.ToLower(k)); got != want {
			t.Fatalf("compareFold(%q, %q) = %v", v, k, got)
		}
	}
}

func TestContainsRare(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	gen := func(n int) string { return randString(r, n, "abc-") }
	for range 20000 {
		v, k := gen(16), gen(5)
		if got := containsRare(v, byteCounts(v), k); got != strings.Contains(v, k) {
			t.Fatalf("containsRare(%q, %q) = %v", v, k, got)
		}
	}
}

// randString is up to n-1 bytes drawn from from.
func randString(r *rand.Rand, n int, from string) string {
	b := make([]byte, r.IntN(n))
	for i := range b {
		b[i] = from[r.IntN(len(from))]
	}
	return string(b)
}
