package store

import (
	"context"
	"time"
)

// MessageKeys is what IMAP SORT, THREAD and the SENT* search keys need of
// a message: its row and the keys package message computed at delivery,
// without the rest of the parsed message.
type MessageKeys struct {
	UID          uint32
	InternalDate time.Time
	SaveDate     time.Time // RFC 8514
	Size         int64
	BlobID       string
	ThreadID     string // as in Message
	// As in message.Parsed.
	SentDate                                         time.Time
	BaseSubject                                      string
	SubjectIsReply                                   bool
	SortFrom, SortTo, SortCc, DisplayFrom, DisplayTo string
	MessageID                                        string
	InReplyTo, References                            []string
}

// KeySource reads every message's keys of a mailbox at once, much faster
// than Messages with parsed data.
type KeySource interface {
	// MessageKeys returns the keys of the mailbox's messages in UID order.
	// Without full, InReplyTo, References and SubjectIsReply are left
	// out and SentDate is the same instant in UTC (enough for SORT);
	// with full they are there and SentDate keeps the Date header's zone
	// (THREAD, SEARCH SENTON …).
	MessageKeys(ctx context.Context, mailboxID int64, full bool) ([]MessageKeys, error)
}
