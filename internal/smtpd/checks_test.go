package smtpd

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/testutil"
)

// stageCheck is a check whose answer at each stage the test sets, and
// which records what it was shown.
type stageCheck struct {
	mu      sync.Mutex
	answers map[string]delivery.Verdict
	errs    map[string]error
	seen    []string
}

func (c *stageCheck) Name() string { return "stage" }

func (c *stageCheck) at(stage, what string) (delivery.Verdict, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, stage+" "+what)
	return c.answers[stage], c.errs[stage]
}

func (c *stageCheck) Connect(ctx context.Context, conn *delivery.Conn) (delivery.Verdict, error) {
	return c.at("connect", conn.IP.String())
}
func (c *stageCheck) Helo(ctx context.Context, conn *delivery.Conn) (delivery.Verdict, error) {
	return c.at("helo", conn.Helo)
}
func (c *stageCheck) Mail(ctx context.Context, tx *delivery.Transaction) (delivery.Verdict, error) {
	return c.at("mail", tx.From+" "+tx.Params["BODY"])
}
func (c *stageCheck) Rcpt(ctx context.Context, tx *delivery.Transaction, r *delivery.Recipient) (delivery.Verdict, error) {
	return c.at("rcpt", r.Address)
}
func (c *stageCheck) Data(ctx context.Context, tx *delivery.Transaction, m *delivery.Message) (delivery.Verdict, error) {
	b, err := m.Open(ctx)
	if err != nil {
		return delivery.Verdict{}, err
	}
	defer b.Close()
	buf := make([]byte, m.Size)
	n, _ := b.ReadAt(buf, 0)
	subject := ""
	for _, l := range strings.Split(string(buf[:n]), "\r\n") {
		if strings.HasPrefix(l, "Subject: ") {
			subject = l
		}
	}
	return c.at("data", subject)
}

func (e *env) serveChecked(c *stageCheck) string {
	return e.serve(MX, false, func(o *Options) {
		o.Checks = delivery.NewChecks("mx.example.test", nil, c)
	})
}

func TestChecksSeeEveryStage(t *testing.T) {
	e := newEnv(t)
	ch := &stageCheck{answers: map[string]delivery.Verdict{
		"data": {Results: []authres.Result{&authres.SPFResult{Value: authres.ResultPass, From: "s@remote.example"}}},
	}}
	c := testutil.Dial(t, e.serveChecked(ch))
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<s@remote.example> BODY=8BITMIME", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	forged := "Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=ceo@example.test\r\n"
	if r := sendData(c, forged+msg("s@remote.example", "alice@example.test", "checked")); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA: %q", r)
	}
	want := []string{"connect 127.0.0.1", "helo client.example", "mail s@remote.example 8BITMIME",
		"rcpt alice@example.test", "data Subject: checked"}
	if strings.Join(ch.seen, "|") != strings.Join(want, "|") {
		t.Fatalf("stages seen:\n%q\nwant\n%q", ch.seen, want)
	}
	_, msgs := e.inbox("alice@example.test")
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored", len(msgs))
	}
	body := e.body(msgs[0])
	if strings.Contains(body, "ceo@example.test") {
		t.Fatalf("the forged Authentication-Results was stored:\n%s", body)
	}
	wantTop := "Authentication-Results: mx.example.test;\r\n\tspf=pass smtp.mailfrom=s@remote.example\r\nReceived: from client.example"
	if !strings.HasPrefix(body, wantTop) {
		t.Fatalf("stored message starts\n%q\nwant\n%q", body[:min(len(body), 200)], wantTop)
	}
	if msgs[0].Parsed.HeaderSize != int64(strings.Index(body, "\r\n\r\n")+4) || msgs[0].Size != int64(len(body)) {
		t.Fatalf("parsed header size %d, size %d, for %d bytes", msgs[0].Parsed.HeaderSize, msgs[0].Size, len(body))
	}
}

func TestChecksRefuseAtEachStage(t *testing.T) {
	refuse := mail.Errorf(550, [3]int{5, 7, 1}, "Refused by policy")
	for _, stage := range []string{"connect", "helo", "mail", "rcpt", "data"} {
		t.Run(stage, func(t *testing.T) {
			e := newEnv(t)
			ch := &stageCheck{answers: map[string]delivery.Verdict{stage: {Reply: refuse}}}
			c := testutil.Dial(t, e.serveChecked(ch))
			if stage == "connect" {
				c.Expect("", "554 5.7.1 Refused by policy")
				return
			}
			c.Expect("", "220")
			steps := []struct{ cmd, stage string }{
				{"EHLO client.example", "helo"}, {"MAIL FROM:<s@remote.example>", "mail"}, {"RCPT TO:<alice@example.test>", "rcpt"},
			}
			for _, st := range steps {
				if st.stage == stage {
					c.Expect(st.cmd, "550 5.7.1 Refused by policy")
					return
				}
				c.Expect(st.cmd, "250")
			}
			if r := sendData(c, msg("s@remote.example", "alice@example.test", "x")); !strings.HasPrefix(r, "550 5.7.1") {
				t.Fatalf("DATA: %q", r)
			}
			if mb, _ := e.inbox("alice@example.test"); mb.Messages != 0 {
				t.Fatalf("a refused message was stored")
			}
		})
	}
}

// A check whose DNS is down gets the client told to retry (451 4.4.3),
// and nothing is stored.
func TestCheckErrorTempfails(t *testing.T) {
	e := newEnv(t)
	ch := &stageCheck{errs: map[string]error{"data": errors.New("dns: server failure")}}
	c := testutil.Dial(t, e.serveChecked(ch))
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<s@remote.example>", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	if r := sendData(c, msg("s@remote.example", "alice@example.test", "x")); !strings.HasPrefix(r, "451 4.4.3") {
		t.Fatalf("DATA: %q", r)
	}
	if mb, _ := e.inbox("alice@example.test"); mb.Messages != 0 {
		t.Fatalf("a tempfailed message was stored")
	}
}

// A client that talks before the end of the greeting is refused; one that
// waits gets the whole greeting, and is not made to wait again.
func TestPregreet(t *testing.T) {
	e := newEnv(t)
	addr := e.serve(MX, false, func(o *Options) { o.PregreetWait = 300 * time.Millisecond })
	eager := testutil.Dial(t, addr)
	if l := eager.Line(); !strings.HasPrefix(l, "220-mx.example.test ESMTP") {
		t.Fatalf("first greeting line %q", l)
	}
	eager.Send("EHLO spambot.example")
	eager.Expect("", "554 5.5.1 Protocol error")
	patient := testutil.Dial(t, addr)
	patient.Expect("", "220-mx.example.test ESMTP\n220 mx.example.test") // both lines, after the wait
	patient.Expect("EHLO client.example", "250")
	patient.Expect("QUIT", "221")
	again := testutil.Dial(t, addr)
	if l := again.Line(); !strings.HasPrefix(l, "220 mx.example.test") {
		t.Fatalf("a client that passed waited again: %q", l)
	}
}
