package main

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"facteur.dev/facteur/internal/tlsutil"
)

// SIGHUP reloads the certificate without dropping a session and logs
// what it reloaded (issue 16 §6).
func TestSIGHUPReloadsCertificate(t *testing.T) {
	in := newInstance(t)
	in.start()
	peer := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", in.subs, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return string(c.ConnectionState().PeerCertificates[0].Raw)
	}
	before := peer()
	open, err := net.Dial("tcp", in.smtp) // a session under way across the reload
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	r := bufio.NewReader(open)
	r.ReadString('\n')

	crt, key, err := tlsutil.SelfSigned("mx.example.test", "localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(in.dir, "data")
	os.WriteFile(filepath.Join(data, "selfsigned.key"), key, 0o600)
	os.WriteFile(filepath.Join(data, "selfsigned.crt"), crt, 0o644)
	in.cmd.Process.Signal(syscall.SIGHUP)
	for start := time.Now(); !strings.Contains(in.out.String(), "reload: done"); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no reload logged:\n%s", in.out.String())
		}
	}
	if !strings.Contains(in.out.String(), "reload: new certificate in use") {
		t.Fatalf("log:\n%s", in.out.String())
	}
	if peer() == before {
		t.Fatal("the old certificate is still served")
	}
	open.Write([]byte("NOOP\r\n"))
	open.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "250") {
		t.Fatalf("the session under way: %q %v", line, err)
	}
	if in.cmd.ProcessState != nil {
		t.Fatal("the server exited")
	}
}
