package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Names are normalised the same way by add and del: an internationalised
// domain in either form, any case.
func TestAdminDeleteNormalisesNames(t *testing.T) {
	in := newInstance(t)
	in.admin("", "domain", "add", "bücher.test")
	in.admin("a long password\n", "user", "add", "--password-stdin", "Anna@xn--bcher-kva.test")
	in.admin("", "alias", "add", "@XN--BCHER-KVA.test", "anna@bücher.test")
	if out := in.admin("", "alias", "del", "@BÜCHER.test"); !strings.Contains(out, "@bücher.test deleted") {
		t.Fatalf("alias del: %q", out)
	}
	if out := in.admin("", "user", "del", "--yes", "ANNA@xn--bcher-kva.test"); !strings.Contains(out, "anna@bücher.test deleted") {
		t.Fatalf("user del: %q", out)
	}
	if out := in.admin("", "domain", "del", "--yes", "XN--BCHER-KVA.TEST"); !strings.Contains(out, "bücher.test deleted") {
		t.Fatalf("domain del: %q", out)
	}
	if out := in.admin("", "domain", "list"); strings.Contains(out, "bücher") {
		t.Fatalf("domain still listed: %q", out)
	}
}

// alias add refuses to shadow an account and to point at local
// addresses that reach no account, unless --force, which says what it
// does; remote targets and existing local ones are fine (issue 16 §10).
func TestAliasAddRefusesMistakes(t *testing.T) {
	in := newInstance(t)
	in.admin("", "domain", "add", "example.test")
	in.admin("a long password\n", "user", "add", "--password-stdin", "alice@example.test")
	in.admin("a long password\n", "user", "add", "--password-stdin", "bob@example.test")
	fails := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(in.bin, append([]string{"--config", in.config}, args...)...).CombinedOutput()
		if err == nil {
			t.Fatalf("facteur %v succeeded:\n%s", args, out)
		}
		return string(out)
	}
	if out := fails("alias", "add", "alice@example.test", "bob@example.test"); !strings.Contains(out, "alice@example.test is an account") {
		t.Fatalf("shadowing an account: %s", out)
	}
	if out := fails("alias", "add", "team@example.test", "bob@example.test", "ghost@example.test"); !strings.Contains(out, "target ghost@example.test reaches no account") {
		t.Fatalf("a target that does not exist: %s", out)
	}
	if out := in.admin("", "alias", "list"); strings.TrimSpace(out) != "" {
		t.Fatalf("refused aliases were added: %q", out)
	}
	in.admin("", "alias", "add", "team@example.test", "bob@example.test", "carol@remote.test", "alice+team@example.test")
	if out := in.admin("", "alias", "add", "--force", "alice@example.test", "bob@example.test"); !strings.Contains(out, "warning: alice@example.test is an account") {
		t.Fatalf("--force: %q", out)
	}
}

// user del and domain del delete mail only with --yes when not on a
// terminal, and say how much went (issue 16 §11).
func TestDeleteNeedsYes(t *testing.T) {
	in := newInstance(t)
	in.start()
	in.admin("", "domain", "add", "example.test")
	in.admin("a long password\n", "user", "add", "--password-stdin", "alice@example.test")
	if r := mxSession(in.smtp, "bob@remote.test", "alice@example.test", "Subject: hi\r\n\r\nhello\r\n"); r != "250" {
		t.Fatal(r)
	}
	for _, args := range [][]string{{"user", "del", "alice@example.test"}, {"domain", "del", "example.test"}} {
		out, err := exec.Command(in.bin, append([]string{"--config", in.config}, args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "1 message(s)") || !strings.Contains(string(out), "--yes") {
			t.Fatalf("%v without --yes: %v\n%s", args, err, out)
		}
	}
	if n := in.inboxCount("alice@example.test"); n != "messages=1" {
		t.Fatalf("INBOX holds %s after refused deletes", n)
	}
	if out := in.admin("", "user", "del", "--yes", "alice@example.test"); !strings.Contains(out, "user alice@example.test deleted (1 messages,") {
		t.Fatalf("user del --yes: %q", out)
	}
}

// An admin command without --config where no development instance has
// run says so and creates nothing (issue 16 §2).
func TestAdminWithoutInstance(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary(t), "domain", "add", "example.test")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no development instance here") {
		t.Fatalf("domain add without an instance: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("it created %v", entries)
	}
}
