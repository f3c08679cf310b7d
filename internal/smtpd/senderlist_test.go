package smtpd

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/checks/senderlist"
	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/testutil"
)

// The checks' results reach the per-recipient filters: one message to
// alice and bob, each copy filed by that account's sender lists. Alice
// blocks a.test, which signed the first message: her copy is in Junk,
// bob's in his INBOX. The second, from b.test, is quarantined by the
// checks (dmarc=fail for the From domain) but carries a valid b.test
// signature, which bob allows: his copy is in his INBOX, alice's stays
// in Junk.
func TestSenderListsPerRecipient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for user, r := range map[string]store.SenderRule{
		"alice@example.test": {Kind: store.SenderBlock, Domain: "a.test"},
		"bob@example.test":   {Kind: store.SenderAllow, Domain: "b.test"},
	} {
		a, err := e.store.LookupAccount(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.SetSenderRule(ctx, a.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	e.pipeline.SetCopyFilters(senderlist.New(e.store, nil))
	ch := &stageCheck{answers: map[string]delivery.Verdict{}}
	addr := e.serveChecked(ch)

	ch.answer("data", delivery.Verdict{Results: []authres.Result{
		&authres.DKIMResult{Value: authres.ResultPass, Domain: "a.test"},
		&authres.DMARCResult{Value: authres.ResultPass, From: "a.test"}}})
	sendTo(t, addr, "news@a.test", msg("news@a.test", "alice@example.test", "from a.test"))
	ch.answer("data", delivery.Verdict{Folder: "Junk", Results: []authres.Result{
		&authres.DKIMResult{Value: authres.ResultPass, Domain: "b.test"},
		&authres.DMARCResult{Value: authres.ResultFail, From: "c.test"}}})
	sendTo(t, addr, "list@b.test", msg("someone@c.test", "alice@example.test", "via b.test"))

	want := map[string]map[string]string{ // user → mailbox → subject
		"alice@example.test": {"Junk": "from a.test|via b.test", "INBOX": ""},
		"bob@example.test":   {"Junk": "", "INBOX": "from a.test|via b.test"},
	}
	for user, boxes := range want {
		for box, subjects := range boxes {
			if got := e.subjects(user, box); got != subjects {
				t.Errorf("%s's %s holds %q, want %q", user, box, got, subjects)
			}
		}
	}
	if t.Failed() {
		return
	}
	_, junk := e.mailbox("alice@example.test", "Junk")
	if body := e.body(junk[0]); !strings.HasPrefix(body, "Authentication-Results: mx.example.test;") ||
		!strings.Contains(body, "\r\nX-Facteur-Sender-List: block a.test (dkim=pass header.d=a.test)\r\nReceived: ") {
		t.Errorf("alice's blocked copy begins\n%s", body[:min(len(body), 400)])
	}
	_, inbox := e.inbox("bob@example.test")
	if body := e.body(inbox[0]); strings.Contains(body, "X-Facteur-Sender-List") {
		t.Errorf("bob's copy of the mail alice blocked names a rule:\n%s", body[:min(len(body), 400)])
	}
	if body := e.body(inbox[1]); !strings.Contains(body, "X-Facteur-Sender-List: allow b.test (dkim=pass header.d=b.test)\r\n") {
		t.Errorf("bob's allowed copy begins\n%s", body[:min(len(body), 400)])
	}
}

// answer sets what the check answers at stage from now on.
func (c *stageCheck) answer(stage string, v delivery.Verdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answers[stage] = v
}

// sendTo sends body from sender to alice and bob in one transaction.
func sendTo(t *testing.T, addr, sender, body string) {
	t.Helper()
	c := testutil.Dial(t, addr)
	c.Expect("", "220")
	c.Expect("EHLO client.example", "250")
	c.Expect("MAIL FROM:<"+sender+">", "250")
	c.Expect("RCPT TO:<alice@example.test>", "250")
	c.Expect("RCPT TO:<bob@example.test>", "250")
	if r := sendData(c, body); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA: %q", r)
	}
	c.Expect("QUIT", "221")
}

// subjects are the subjects of the messages in user's mailbox, in UID
// order, joined by "|".
func (e *env) subjects(user, mailbox string) string {
	e.t.Helper()
	_, msgs := e.mailbox(user, mailbox)
	var out []string
	for _, m := range msgs {
		out = append(out, m.Parsed.Envelope.Subject)
	}
	return strings.Join(out, "|")
}
