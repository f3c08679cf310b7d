package smtpd

import (
	"errors"
	"fmt"
	"net/smtp"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"facteur.dev/facteur/internal/testutil"
)

// TestConnectionLimitFreedAtQuit: a peer that runs as many parallel
// sessions as the per-IP limit allows, ends them with QUIT and at once
// opens as many again is never refused, round after round (as Postfix's
// smtp-source -s 20 does), while one more concurrent session is.
func TestConnectionLimitFreedAtQuit(t *testing.T) {
	const perIP, rounds = 20, 30
	e := newEnv(t)
	addr := e.serve(MX, false, func(o *Options) { o.MaxConnsPerIP = perIP })
	for r := range rounds {
		clients, err := dialParallel(addr, perIP)
		if err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		testutil.Dial(t, addr).Expect("", "421 4.7.0") // the one over the limit
		if err := sendParallel(clients); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
	}
	if mb, _ := e.inbox("alice@example.test"); mb.Messages != perIP*rounds {
		t.Fatalf("alice has %d messages, want %d", mb.Messages, perIP*rounds)
	}
}

// dialParallel opens n sessions at once; each has read its 220 banner.
func dialParallel(addr string, n int) ([]*smtp.Client, error) {
	clients := make([]*smtp.Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { clients[i], errs[i] = smtp.Dial(addr) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
		return nil, err
	}
	return clients, nil
}

// sendParallel runs one transaction and QUIT on every client at once.
func sendParallel(clients []*smtp.Client) error {
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			defer c.Close()
			errs[i] = sendOne(c, i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func sendOne(c *smtp.Client, i int) error {
	if err := c.Hello("client.example"); err != nil {
		return err
	}
	if err := c.Mail("s@remote.example"); err != nil {
		return err
	}
	if err := c.Rcpt("alice@example.test"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: <s@remote.example>\r\nTo: <alice@example.test>\r\nSubject: %d\r\n\r\nHello.\r\n", i)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// TestSMTPSource runs Postfix's smtp-source, when installed, with as
// many parallel sessions as the per-IP limit: each session reconnects as
// soon as it has read the 221 to its QUIT, and none may be refused.
func TestSMTPSource(t *testing.T) {
	bin, err := exec.LookPath("smtp-source")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/smtp-source"); err != nil {
			t.Skip("smtp-source (Debian package postfix) not installed")
		}
	}
	const perIP, messages = 20, 400
	e := newEnv(t)
	addr := e.serve(MX, false, func(o *Options) { o.MaxConnsPerIP = perIP })
	cmd := exec.CommandContext(t.Context(), bin, "-s", fmt.Sprint(perIP), "-m", fmt.Sprint(messages),
		"-M", "client.example", "-f", "s@remote.example", "-t", "alice@example.test", addr)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("smtp-source: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	if mb, _ := e.inbox("alice@example.test"); mb.Messages != messages {
		t.Fatalf("alice has %d messages, want %d", mb.Messages, messages)
	}
}
