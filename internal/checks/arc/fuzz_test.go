package arc

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

// FuzzVerify: any message gives one of the four results, with a reason
// when it is fail or temperror, and never a panic; sealing over what was
// found does not panic either.
func FuzzVerify(f *testing.F) {
	g := newGen(f)
	org, relay := g.sealer("example.org", "rsa"), g.sealer("relay.example.com", "ed")
	one := g.hops(genBase, org)
	three := g.hops(genBase, org, relay, org)
	for _, seed := range []string{
		genBase, one, three, dropSet(2)(three), duplicate(nameAS, 1)(one),
		strings.ReplaceAll(one, "\r\n", "\n"),
		"ARC-Seal: i=1; cv=none\r\n\r\n",
		"ARC-Authentication-Results: i=51; x\r\nARC-Message-Signature: i=\r\n\r\n",
		"ARC-Authentication-Results: i=1; x\r\nARC-Seal: i=1; a=ed25519-sha256; cv=none; d=example.org; s=ed; b=AAAA\r\n" +
			"ARC-Message-Signature: i=1; a=rsa-sha256; c=simple/relaxed; d=example.org; s=rsa; h=from:from; bh=AAAA; b=AAAA; l=99999999999999999999\r\n\r\nbody",
		"ARC-Seal:\r\n\t\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		got := g.c.Verify(context.Background(), strings.NewReader(msg))
		switch got.Value {
		case authres.ResultNone, authres.ResultPass:
		case authres.ResultFail, authres.ResultTempError:
			if got.Reason == "" {
				t.Fatalf("%s without a reason", got.Value)
			}
		default:
			t.Fatalf("result %q", got.Value)
		}
		relay.Seal(strings.NewReader(msg), got, nil, now)
	})
}
