package imapd

import (
	"context"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// Warm fills the view cache within its bound; a SELECT then sees the
// messages delivered after it ran.
func TestWarm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, 30)
	ctx := context.Background()
	inbox, err := e.store.GetMailbox(ctx, e.alice.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	shared := NewShared()
	shared.views.maxMessages = 29
	if boxes, _, err := shared.Warm(ctx, e.store, []store.Mailbox{inbox}); boxes != 0 || err != nil {
		t.Fatalf("over the bound: %d mailboxes warmed, %v", boxes, err)
	}
	shared.views.maxMessages = defaultCacheMessages
	if boxes, messages, err := shared.Warm(ctx, e.store, []store.Mailbox{inbox}); boxes != 1 || messages != 30 || err != nil {
		t.Fatalf("Warm: %d mailboxes, %d messages, %v", boxes, messages, err)
	}
	if shared.views.entries[inbox.ID] == nil || shared.views.total != 30 {
		t.Fatalf("cache: %d messages", shared.views.total)
	}
	e.deliver(e.alice, "INBOX", testMessage(31))
	c := e.dial(e.start(func(o *Options) { o.Shared = shared }))
	c.login()
	if lines, _ := c.cmd("s", "SELECT INBOX", "OK"); !has(lines, "* 31 EXISTS") {
		t.Fatalf("SELECT after Warm: %q", lines)
	}
}
