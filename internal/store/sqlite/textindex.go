package sqlite

// The text index behind IMAP SEARCH BODY, TEXT and the header keys: an
// FTS5 table with the trigram tokenizer and no positions (it finds the
// messages that contain every trigram of a needle of three characters or
// more; their stored text confirms the match), one row per message
// row, rowid = messages.id, holding the decoded header (one "Name: value"
// line per field, with the address lists of address fields) and the
// decoded body text (message.Parsed.SearchHeaderText and BodyText). Rows are written shortly after the delivery that inserts
// the message (textqueue.go), copied with the message by CopyMessages, deleted by a trigger
// when the message row goes, and built from the message's bytes (its
// Headers and blob), lazily at the first search of a mailbox, for messages
// stored before the index existed.

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"

	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// migrationTextIndex creates the index (appended to migrations).
const migrationTextIndex = `
CREATE VIRTUAL TABLE message_text USING fts5(header, body, tokenize = 'trigram remove_diacritics 0', detail = none);
CREATE TRIGGER message_text_delete AFTER DELETE ON messages BEGIN
	DELETE FROM message_text WHERE rowid = old.id;
END;
`

// migrationTextMerge: FTS5 merges a level's segments once it has
// "automerge" of them (default 4). Merging was half the cost of indexing
// under a steady stream of deliveries, which index in slices of 100
// (textqueue.go); at 8 the merges cost about half as much, and a
// search reads at most twice as many segments per level, which
// bench/searchbody does not tell apart.
const migrationTextMerge = `INSERT INTO message_text(message_text, rank) VALUES('automerge', 8);`

const (
	qCopyText = `INSERT INTO message_text(rowid, header, body)
		SELECT (SELECT id FROM messages WHERE mailbox_id = ? AND uid = ?), header, body FROM message_text
		WHERE rowid = (SELECT id FROM messages WHERE mailbox_id = ? AND uid = ?)`
)

// indexText hands the text of a message just inserted as d to the
// deferred indexer (textqueue.go), which writes it after the delivery is
// answered. A message without text (a copy, whose Parsed comes from the
// index without its text) is left to copyText or to indexMissing.
func (s *Store) indexText(_ context.Context, _ *sql.Tx, m *store.NewMessage, d store.Delivered) error {
	p := m.Parsed
	if s.textq == nil || p == nil || p.Text == "" && p.Headers == nil {
		return nil
	}
	s.textq.add(textItem{mailboxID: d.MailboxID, uid: d.UID, blobID: m.BlobID, parsed: p})
	return nil
}

// copyText copies the index row of message src/uid to its copy d.
func (s *Store) copyText(ctx context.Context, tx *sql.Tx, src int64, uid uint32, d store.Delivered) error {
	_, err := tx.ExecContext(ctx, qCopyText, d.MailboxID, d.UID, src, uid)
	return err
}

// SearchText implements store.TextSearch. The index has no positions
// (detail=none, half the size and insert time of a full one), so it
// gives the messages holding every trigram of the needle; their stored
// text then decides: LIKE for an ASCII needle, Go's case folding
// otherwise.
func (s *Store) SearchText(ctx context.Context, mailboxID int64, field store.TextField, needle string) ([]uint32, error) {
	if err := s.indexMissing(ctx, mailboxID); err != nil {
		return nil, err
	}
	name, isField := field.HeaderName()
	header, body := "t.header", "t.body"
	from := " FROM messages m JOIN message_text t ON t.rowid = m.id WHERE m.mailbox_id = ?"
	args := []any{mailboxID}
	short := utf8.RuneCountInString(needle) < 3
	if short {
		// Too short for trigrams: every row is read, from FTS5's content
		// table, which is cheaper than going through the FTS5 cursor.
		header, body = "t.c0", "t.c1"
		from = " FROM messages m JOIN message_text_content t ON t.id = m.id WHERE m.mailbox_id = ?"
	} else {
		from += " AND message_text MATCH ?"
		args = append(args, trigramQuery(needle))
	}
	text := header + " || char(0) || " + body // NUL is in no needle
	switch {
	case field == store.TextBody:
		text = body
	case isField || field == store.TextHeaders:
		text = header
	}
	sel, like := text, isASCII(needle) && !isField
	if like {
		// SQLite's LIKE folds ASCII, which is all an ASCII needle needs;
		// it confirms in SQLite what the trigrams suggested. (LIKE stops
		// at a NUL: each column is matched on its own.)
		pattern := "%" + likeEscaper.Replace(needle) + "%"
		if field == store.TextAll {
			from += " AND (" + header + " LIKE ? ESCAPE '\\' OR " + body + " LIKE ? ESCAPE '\\')"
			args = append(args, pattern, pattern)
		} else {
			from += " AND " + text + " LIKE ? ESCAPE '\\'"
			args = append(args, pattern)
		}
		sel = "''"
	}
	rows, err := s.read.QueryContext(ctx, "SELECT m.uid, "+sel+from+" ORDER BY m.uid", args...)
	if err != nil {
		return nil, err
	}
	folded := strings.ToLower(needle)
	return collectText(rows, func(text string) bool {
		switch {
		case like:
			return true
		case isField:
			return headerHas(text, name, needle)
		}
		return containsFold(text, folded)
	})
}

// trigramQuery is an FTS5 query for the rows that contain every distinct
// three-character substring of needle.
func trigramQuery(needle string) string {
	r := []rune(needle)
	seen := map[string]bool{}
	var terms []string
	for i := 0; i+3 <= len(r); i++ {
		t := string(r[i : i+3])
		if k := strings.ToLower(t); !seen[k] {
			seen[k] = true
			terms = append(terms, `"`+strings.ReplaceAll(t, `"`, `""`)+`"`)
		}
	}
	return strings.Join(terms, " AND ")
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func collectText(rows *sql.Rows, keep func(string) bool) ([]uint32, error) {
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var uid uint32
		var text string
		if err := rows.Scan(&uid, &text); err != nil {
			return nil, err
		}
		if keep(text) {
			out = append(out, uid)
		}
	}
	return out, rows.Err()
}

// headerHas reports whether header (HeaderText lines) has a field named
// name whose value contains needle, case-insensitively.
func headerHas(header, name, needle string) bool {
	folded := strings.ToLower(needle)
	for line := range strings.Lines(header) {
		n, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
		if ok && strings.EqualFold(n, name) && containsFold(v, folded) {
			return true
		}
	}
	return false
}

func containsFold(s, folded string) bool {
	return folded == "" || strings.Contains(strings.ToLower(s), folded)
}

// backfillText indexes the messages stored before the text index existed,
// mailbox by mailbox, so that the first search of a large mailbox finds
// the work done. A server that owns the data directory runs it at start,
// until ctx ends.
func (s *Store) backfillText(ctx context.Context) error {
	var messages, indexed int64
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM messages").Scan(&messages); err != nil {
		return err
	}
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM message_text_docsize").Scan(&indexed); err != nil {
		return err
	}
	if indexed >= messages {
		return nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT mailbox_id FROM messages m
		WHERE NOT EXISTS (SELECT 1 FROM message_text_docsize d WHERE d.id = m.id)`)
	if err != nil {
		return err
	}
	var boxes []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		boxes = append(boxes, id)
	}
	rows.Close()
	for _, id := range boxes {
		if err := s.indexMissing(ctx, id); err != nil {
			return err
		}
	}
	return rows.Err()
}

// indexBatch is how many messages one lazy indexing transaction takes.
const indexBatch = 200

// textMarks remembers, per mailbox, the UID up to which every message of
// the mailbox is known to be indexed: messages are indexed once stored
// and lose their index only with the message, so only UIDs above the
// mark need checking. A UID, not a row ID: SQLite gives a deleted
// message's row ID (the highest) to the next row inserted, which would
// then pass for indexed, while a mailbox's UIDs only grow (RFC 9051
// §2.3.1.1) and its ID is never reused (createMailbox).
type textMarks struct {
	mu   sync.Mutex
	upTo map[int64]uint32 // mailbox ID → UID
}

func (t *textMarks) get(mailboxID int64) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.upTo[mailboxID]
}

func (t *textMarks) set(mailboxID int64, uid uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.upTo == nil {
		t.upTo = map[int64]uint32{}
	}
	t.upTo[mailboxID] = max(t.upTo[mailboxID], uid)
}

// indexMissing indexes the mailbox's messages that have no row yet (stored
// before the index existed), parsing their bytes (Headers, then blob).
func (s *Store) indexMissing(ctx context.Context, mailboxID int64) error {
	type missing struct {
		uid           uint32
		blob, headers string
	}
	mark := s.text.get(mailboxID)
	var top uint32
	err := s.queryRow(ctx, "SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid DESC LIMIT 1", mailboxID).Scan(&top)
	if errors.Is(err, sql.ErrNoRows) || err == nil && top <= mark {
		return nil
	}
	if err != nil {
		return err
	}
	// Every message at or below top is stored by now: UIDs are given in
	// commit order, and one given to a delivery that failed goes to the
	// next, before any higher one.
	rows, err := s.read.QueryContext(ctx, `SELECT uid, blob_id, headers FROM messages m WHERE mailbox_id = ? AND uid > ?
		AND NOT EXISTS (SELECT 1 FROM message_text_docsize d WHERE d.id = m.id)`, mailboxID, mark)
	if err != nil {
		return err
	}
	var todo []missing
	for rows.Next() {
		var m missing
		if err := rows.Scan(&m.uid, &m.blob, &m.headers); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for len(todo) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(todo), indexBatch)
		batch := make([]textRow, 0, n)
		for _, m := range todo[:n] {
			p, err := s.parseMessage(ctx, &store.Message{BlobID: m.blob, Headers: m.headers})
			if err != nil {
				return err
			}
			batch = append(batch, textRow{mailboxID, m.uid, m.blob, p.SearchHeaderText(), p.BodyText()})
		}
		todo = todo[n:]
		if err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return insertText(ctx, tx, batch)
		}); err != nil {
			return err
		}
	}
	s.text.set(mailboxID, top)
	return nil
}

// textRow is the text of a message, named as the deferred indexer names
// it (textqueue.go): by mailbox, UID and blob, which no other message
// ever has, where its row ID may be another message's by the time the
// text is written.
type textRow struct {
	mailboxID    int64
	uid          uint32
	blob         string
	header, body string
}

// insertText adds rows for messages that still exist and are still not
// indexed.
func insertText(ctx context.Context, tx *sql.Tx, batch []textRow) error {
	for _, r := range batch {
		_, err := tx.ExecContext(ctx, qIndexQueued, r.header, r.body, r.mailboxID, r.uid, r.blob)
		if err != nil {
			return err
		}
	}
	return nil
}

// parseMessage parses a stored message, its Headers and its blob. A blob
// that cannot be read indexes as an empty message rather than failing
// every search.
func (s *Store) parseMessage(ctx context.Context, m *store.Message) (*message.Parsed, error) {
	b, err := store.OpenMessage(ctx, s.blobs, m)
	if err != nil {
		return &message.Parsed{}, nil
	}
	defer b.Close()
	p, err := message.Parse(b)
	if err != nil {
		return &message.Parsed{}, nil
	}
	return p, nil
}
