package sqlite

import (
	"context"
	"encoding/json"
	"time"

	"facteur.dev/facteur/internal/store"
)

var _ store.KeySource = (*Store)(nil)

// qMessageKeys reads the SORT columns and, with full, from the parsed
// JSON what has no column of its own.
const (
	qMessageKeys = `SELECT uid, internal_date, save_date, size, blob_id, sent_date, subject_base,
	sort_from, sort_to, sort_cc, display_from, display_to, message_id, thread_id
	FROM messages WHERE mailbox_id = ? ORDER BY uid`
	qMessageKeysFull = `SELECT uid, internal_date, save_date, size, blob_id, sent_date, subject_base,
	sort_from, sort_to, sort_cc, display_from, display_to, message_id, thread_id,
	CASE parsed WHEN '' THEN NULL ELSE json_extract(parsed, '$.sent_date') END,
	CASE parsed WHEN '' THEN NULL ELSE json_extract(parsed, '$.subject_is_reply') END,
	CASE parsed WHEN '' THEN NULL ELSE json_extract(parsed, '$.in_reply_to') END,
	CASE parsed WHEN '' THEN NULL ELSE json_extract(parsed, '$.references') END
	FROM messages WHERE mailbox_id = ? ORDER BY uid`
)

// MessageKeys implements store.KeySource.
func (s *Store) MessageKeys(ctx context.Context, mailboxID int64, full bool) ([]store.MessageKeys, error) {
	var n int
	if err := s.queryRow(ctx, "SELECT messages FROM mailboxes WHERE id = ?", mailboxID).Scan(&n); err != nil {
		return nil, notFound(err)
	}
	q := qMessageKeys
	if full {
		q = qMessageKeysFull
	}
	rows, err := s.query(ctx, q, mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]store.MessageKeys, 0, n+16)
	for rows.Next() {
		var k store.MessageKeys
		var date, saved, sentUnix int64
		var sent, reply, inReplyTo, refs *string
		dest := []any{&k.UID, &date, &saved, &k.Size, &k.BlobID, &sentUnix, &k.BaseSubject, &k.SortFrom,
			&k.SortTo, &k.SortCc, &k.DisplayFrom, &k.DisplayTo, &k.MessageID, &k.ThreadID}
		if full {
			dest = append(dest, &sent, &reply, &inReplyTo, &refs)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		k.InternalDate, k.SaveDate = time.Unix(date, 0), time.Unix(saved, 0)
		if sentUnix != 0 {
			k.SentDate = time.Unix(sentUnix, 0).UTC()
		}
		if sent != nil {
			k.SentDate, _ = time.Parse(time.RFC3339Nano, *sent)
		}
		k.SubjectIsReply = reply != nil && *reply == "1"
		if err := unmarshalIDs(inReplyTo, &k.InReplyTo); err != nil {
			return nil, err
		}
		if err := unmarshalIDs(refs, &k.References); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func unmarshalIDs(s *string, dst *[]string) error {
	if s == nil || *s == "" {
		return nil
	}
	return json.Unmarshal([]byte(*s), dst)
}
