package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sieveConnect runs Debian's sieve-connect (a Perl ManageSieve client)
// against the instance's managesieve listener: STARTTLS against the
// self-signed certificate, the password on standard input.
func (in *mailInstance) sieveConnect(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--nosrv", "--server", "127.0.0.1", "--port", port(in.sieve),
		"--notlsverify", "--user", "alice@example.test", "--passwordfd", "0"}, args...)...)
	cmd.Stdin = strings.NewReader("secret password\n")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestSieveConnect uploads, lists, activates, downloads and deletes a
// script with sieve-connect, and sees each change with facteur sieve.
func TestSieveConnect(t *testing.T) {
	bin := tool(t, "sieve-connect")
	in := newMailInstance(t, 0)
	dir := t.TempDir()
	script := "require \"fileinto\";\r\nif header :contains \"subject\" \"[list]\" {\r\n  fileinto \"Lists\";\r\n}\r\n"
	local := filepath.Join(dir, "lists.sieve")
	os.WriteFile(local, []byte(script), 0o600)
	run := func(args ...string) string {
		t.Helper()
		out, err := in.sieveConnect(t, bin, args...)
		if err != nil {
			t.Fatalf("sieve-connect %v: %v\n%s", args, err, out)
		}
		return out
	}
	run("--localsieve", local, "--remotesieve", "Mailing lists", "--upload")
	if out := run("--list"); out != "\"Mailing lists\"\n" {
		t.Fatalf("--list after upload: %q", out)
	}
	run("--remotesieve", "Mailing lists", "--activate")
	if out := run("--list"); out != "\"Mailing lists\" ACTIVE\n" {
		t.Fatalf("--list after activate: %q", out)
	}
	if got := in.admin("", "sieve", "list", "alice@example.test"); got != fmt.Sprintf("Mailing lists\t%d\tactive\n", len(script)) {
		t.Fatalf("facteur sieve list: %q", got)
	}
	downloaded := filepath.Join(dir, "back.sieve")
	run("--remotesieve", "Mailing lists", "--localsieve", downloaded, "--download")
	if got, _ := os.ReadFile(downloaded); string(got) != script {
		t.Fatalf("downloaded %q, uploaded %q", got, script)
	}
	if out, err := in.sieveConnect(t, bin, "--remotesieve", "Mailing lists", "--delete"); err == nil || !strings.Contains(out, "NO (ACTIVE)") {
		t.Fatalf("deleting the active script: %v\n%s", err, out)
	}
	run("--deactivate")
	run("--remotesieve", "Mailing lists", "--delete")
	if out := run("--list"); out != "" {
		t.Fatalf("--list after delete: %q", out)
	}
	if got := in.admin("", "sieve", "list", "alice@example.test"); got != "" {
		t.Fatalf("facteur sieve list after delete: %q", got)
	}
}

// The scripts as an administrator keeps them with facteur sieve, the
// mistakes told apart from success by the exit status.
func TestSieveCLI(t *testing.T) {
	in := newInstance(t)
	in.admin("", "domain", "add", "b.test")
	in.admin("bob password\n", "user", "add", "--password-stdin", "bob@b.test")
	in.admin("", "alias", "add", "info@b.test", "bob@b.test")
	file := filepath.Join(t.TempDir(), "v.sieve")
	os.WriteFile(file, []byte("keep;\n"), 0o600)
	for _, step := range []struct{ stdin, args, out string }{
		{"", "put Bob@B.test vacation " + file, "bob@b.test: script vacation stored (6 octets)\n"},
		{"discard;\n", "put bob@b.test spam -", "bob@b.test: script spam stored (9 octets)\n"},
		{"", "activate bob@b.test spam", "bob@b.test: script spam active\n"},
		{"", "list bob@b.test", "spam\t9\tactive\nvacation\t6\n"},
		{"", "get bob@b.test spam", "discard;\n"},
		{"stop;\n", "put bob@b.test spam -", "bob@b.test: script spam stored (6 octets)\n"},
		{"", "list bob@b.test", "spam\t6\tactive\nvacation\t6\n"},
		{"", "deactivate bob@b.test", "bob@b.test: no active script\n"},
		{"", "delete bob@b.test spam", "bob@b.test: script spam deleted\n"},
		{"", "list bob@b.test", "vacation\t6\n"},
	} {
		if got := in.admin(step.stdin, append([]string{"sieve"}, strings.Fields(step.args)...)...); got != step.out {
			t.Errorf("facteur sieve %s: %q, want %q", step.args, got, step.out)
		}
	}
	in.admin("", "sieve", "activate", "bob@b.test", "vacation")
	for _, bad := range []struct {
		stdin, args, msg string
		code             int
	}{
		{"", "delete bob@b.test vacation", "script vacation of bob@b.test is active", 1},
		{"", "get bob@b.test nope", "script nope of bob@b.test not found", 1},
		{"", "activate bob@b.test nope", "script nope of bob@b.test not found", 1},
		{"", "list info@b.test", "user info@b.test not found", 1},
		{"\xff\xfe\n", "put bob@b.test bin -", "the script is not UTF-8", 1},
		{"", "put bob@b.test bad\x01name " + file, "invalid Sieve script name", 1},
		{"", "put bob@b.test", "usage: facteur sieve list ADDRESS|", 2},
		{"", "check " + file + ".missing", "no such file", 1},
	} {
		out, code := in.runStdin(bad.stdin, append([]string{"sieve"}, strings.Fields(bad.args)...)...)
		if code != bad.code || !strings.Contains(out, bad.msg) {
			t.Errorf("facteur sieve %q: exit %d, %q; want %d, %q", bad.args, code, out, bad.code, bad.msg)
		}
	}
	if got := in.admin("", "sieve", "list", "bob@b.test"); got != "vacation\t6\tactive\n" {
		t.Fatalf("refused commands changed the scripts: %q", got)
	}
	if out := in.admin("", "sieve", "--help"); !strings.HasPrefix(out, "Usage: facteur sieve") {
		t.Fatalf("--help: %q, want the usage on standard output", out)
	}
}
