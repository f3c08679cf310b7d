package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"facteur.dev/facteur/internal/store"
)

// hub tells watchers which mailboxes changed, after the transaction that
// changed them is durable. Notifications are wake-ups, not data: a watcher
// asks ChangedSince and Vanished for what happened, so a lost or merged
// wake-up loses nothing.
type hub struct {
	mu       sync.Mutex
	watchers map[int64]map[*watcher]struct{} // account → watchers
	touched  []touch                         // by the running transaction
}

type touch struct{ account, mailbox int64 }

type watcher struct {
	ch chan int64
}

// Watch implements store.Mail.
func (s *Store) Watch(accountID int64) (<-chan int64, func()) {
	w := &watcher{ch: make(chan int64, 64)}
	h := &s.hub
	h.mu.Lock()
	if h.watchers == nil {
		h.watchers = map[int64]map[*watcher]struct{}{}
	}
	if h.watchers[accountID] == nil {
		h.watchers[accountID] = map[*watcher]struct{}{}
	}
	h.watchers[accountID][w] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return w.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.watchers[accountID], w)
			if len(h.watchers[accountID]) == 0 {
				delete(h.watchers, accountID)
			}
			h.mu.Unlock()
		})
	}
}

// touch records, on the committer goroutine, that a mailbox changes in the
// running transaction.
func (h *hub) touch(account, mailbox int64) {
	h.mu.Lock()
	h.touched = append(h.touched, touch{account, mailbox})
	h.mu.Unlock()
}

// committed wakes the watchers of what the finished transaction changed.
func (h *hub) committed(ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ok {
		for _, t := range h.touched {
			for w := range h.watchers[t.account] {
				select {
				case w.ch <- t.mailbox:
				default: // full: the watcher has wake-ups pending already
				}
			}
		}
	}
	h.touched = h.touched[:0]
}

// touchMailbox looks up a mailbox's account and records the change.
func (s *Store) touchMailbox(ctx context.Context, tx *sql.Tx, mailboxID int64) {
	var account int64
	if err := s.txQueryRow(ctx, tx, "SELECT account_id FROM mailboxes WHERE id = ?", mailboxID).Scan(&account); err == nil {
		s.hub.touch(account, mailboxID)
	}
}

// ChangedSince implements store.Mail: messages whose MODSEQ is above since,
// in UID order, without parsed data.
func (s *Store) ChangedSince(ctx context.Context, mailboxID int64, since uint64) ([]store.Message, error) {
	rows, err := s.query(ctx, "SELECT "+messageCols+" FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
		mailboxID, since)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows, &s.parsed, mailboxID, false)
}

// MessagesByUID implements store.Mail. It reads the UID range from the
// first to the last UID asked for and keeps those asked for, which is one
// index range scan for the sequence sets clients send.
func (s *Store) MessagesByUID(ctx context.Context, mailboxID int64, uids []uint32, withParsed bool) ([]store.Message, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	cols := messageCols
	if withParsed {
		cols += ", parsed"
	}
	rows, err := s.query(ctx, "SELECT "+cols+" FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid",
		mailboxID, uids[0], uids[len(uids)-1])
	if err != nil {
		return nil, err
	}
	all, err := scanMessages(rows, &s.parsed, mailboxID, withParsed)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	i := 0
	for _, m := range all {
		for i < len(uids) && uids[i] < m.UID {
			i++
		}
		if i < len(uids) && uids[i] == m.UID {
			out = append(out, m)
		}
	}
	return out, nil
}
