package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// swaks runs the real swaks client; .ci/run installs it. Its TLS needs
// Perl's Net::SSLeay and IO::Socket::SSL, which Debian's swaks only
// recommends: without them the test says so instead of failing with
// swaks' "TLS not available".
func swaks(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("swaks")
	if err == nil {
		err = exec.Command("perl", "-MNet::SSLeay", "-MIO::Socket::SSL", "-e", "1").Run()
	}
	if err != nil {
		const need = "swaks with TLS (apt-get install swaks libnet-ssleay-perl libio-socket-ssl-perl)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run should install it", need)
		}
		t.Skipf("needs %s", need)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	return string(out), err
}

func TestSwaksAsANewUserWould(t *testing.T) {
	in := newInstance(t)
	in.start()
	in.admin("", "domain", "add", "example.test")
	in.admin("secret password\n", "user", "add", "--password-stdin", "alice@example.test")

	out, err := swaks(t, "--server", in.smtp, "--to", "alice@example.test", "--from", "bob@remote.test")
	if err != nil {
		t.Fatalf("swaks to alice: %v\n%s", err, out)
	}
	if got := in.inboxCount("alice@example.test"); got != "messages=1" {
		t.Fatalf("INBOX %s", got)
	}

	out, _ = swaks(t, "--server", in.smtp, "--to", "someone@elsewhere.test", "--from", "bob@remote.test")
	if !strings.Contains(out, "550 5.7.1") {
		t.Fatalf("relay not refused with 5.7.1:\n%s", out)
	}

	out, _ = swaks(t, "--server", in.sub, "--auth", "PLAIN", "--auth-user", "alice@example.test",
		"--auth-password", "secret password", "--from", "alice@example.test", "--to", "alice@example.test")
	if strings.Contains(out, "235 ") || !strings.Contains(out, "Host did not advertise authentication") && !strings.Contains(out, "523") {
		t.Fatalf("AUTH without TLS was not refused:\n%s", out)
	}

	for _, tls := range [][]string{{"--server", in.sub, "--tls"}, {"--server", in.subs, "--tlsc"}} {
		args := append(tls, "--auth", "PLAIN", "--auth-user", "alice@example.test", "--auth-password", "secret password",
			"--from", "alice@example.test", "--to", "alice@example.test")
		out, err = swaks(t, args...)
		if err != nil || !strings.Contains(out, "235 2.0.0") {
			t.Fatalf("swaks %v: %v\n%s", tls, err, out)
		}
	}
	if got := in.inboxCount("alice@example.test"); got != "messages=3" {
		t.Fatalf("INBOX %s after submissions", got)
	}
}
