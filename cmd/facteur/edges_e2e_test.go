package main

import (
	"crypto/tls"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/testutil"
)

// scramSalt starts a SCRAM-SHA-256 exchange for user on the submissions
// listener and returns the salt of the server-first-message (RFC 5802 §5.1).
func scramSalt(t *testing.T, addr, user string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := testutil.Wrap(t, conn)
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	first := base64.StdEncoding.EncodeToString([]byte("n,,n=" + user + ",r=clientnonce"))
	r := c.Expect("AUTH SCRAM-SHA-256 "+first, "334 ")
	dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r, "334 "))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Split(string(dec), ",") {
		if s, ok := strings.CutPrefix(f, "s="); ok {
			return s
		}
	}
	t.Fatalf("no salt in %q", dec)
	return ""
}

// The salt made up for an unknown user is the same after a restart, as a
// real user's is: a changing salt would tell the two apart.
func TestFakeSCRAMSaltSurvivesRestart(t *testing.T) {
	in := newInstance(t)
	in.start()
	before := scramSalt(t, in.subs, "nobody@example.test")
	if again := scramSalt(t, in.subs, "nobody@example.test"); again != before {
		t.Fatalf("salt changed between two asks: %q, %q", before, again)
	}
	in.kill9()
	in.start()
	if after := scramSalt(t, in.subs, "nobody@example.test"); after != before {
		t.Fatalf("salt changed across a restart: %q, then %q", before, after)
	}
	if other := scramSalt(t, in.subs, "other@example.test"); other == before {
		t.Fatal("two unknown users got the same salt")
	}
	fi, err := os.Stat(filepath.Join(in.dir, "data", "scram.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("scram.key: %v, %v", fi, err)
	}
}

// "domain add" refuses what is not a host name, and writes no DKIM key
// for it.
func TestDomainAddRefusesBadNames(t *testing.T) {
	in := newInstance(t)
	for _, bad := range []string{"..", ".", "evil..test", "a/b.test", "-x.test"} {
		cmd := exec.Command(in.bin, "--config", in.config, "domain", "add", bad)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("domain add %q accepted: %s", bad, out)
		}
	}
	if out := in.admin("", "domain", "list"); strings.TrimSpace(out) != "" {
		t.Errorf("domains after refusals: %q", out)
	}
	if ents, _ := os.ReadDir(filepath.Join(in.dir, "data", "dkim")); len(ents) != 0 {
		t.Errorf("DKIM keys written for refused domains: %v", ents)
	}
}
