package main

import (
	"context"
	"log/slog"
	"time"

	"facteur.dev/facteur/internal/imapd"
	"facteur.dev/facteur/internal/store"
)

// warmIMAP loads every account's INBOX view into the IMAP view cache, in
// the background after the listeners start, within the cache's bound
// (imapd.Shared.Warm): the mailbox clients select first, so that the
// first SELECT after a restart is a copy for those who reconnect after
// it ran. A SELECT that comes sooner waits for the mailbox's load or
// reads it itself, as without it.
func warmIMAP(ctx context.Context, s store.Store, shared *imapd.Shared, log *slog.Logger) {
	start := time.Now()
	accounts, err := s.ListAccounts(ctx, "")
	if err != nil {
		log.Warn("imap view cache not warmed", "err", err)
		return
	}
	var inboxes []store.Mailbox
	for _, a := range accounts {
		if mb, err := s.GetMailbox(ctx, a.ID, "INBOX"); err == nil {
			inboxes = append(inboxes, mb)
		}
	}
	boxes, messages, err := shared.Warm(ctx, s, inboxes)
	log.Info("imap view cache warmed", "mailboxes", boxes, "messages", messages, "elapsed", time.Since(start), "err", err)
}
