package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

const flagSeen = `\Seen`

// The delivery path's statements, prepared once at Open.
const (
	qChargeQuota = `UPDATE accounts SET used_bytes = used_bytes + ?
		WHERE id = ? AND (quota_bytes = 0 OR used_bytes + ? <= quota_bytes) RETURNING id`
	qNextUID = `UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1,
		messages = messages + 1, unseen = unseen + ?, size = size + ?, recent = recent + 1
		WHERE account_id = ? AND name = ? RETURNING id, uidnext - 1, highestmodseq`
	// The thread ID (RFC 8474 §5.2) is the one given (a copy), else that of
	// a message of the account named by the new one's Message-ID,
	// In-Reply-To or References (the first and last), else a new one from
	// the row's own ID: MAX(id)+1 is the ID SQLite gives the row. An ID
	// the table gives again (after its last row was deleted) names no
	// thread still in use: the members of a thread come after its first
	// message. The lookup is by Message-ID first (INDEXED BY, CROSS
	// JOIN): by account, the planner would read all its messages.
	qInsertMessage = `INSERT INTO messages(mailbox_id, uid, modseq, flags, seen, internal_date, internal_zone, save_date,
		size, blob_id, headers, parsed, message_id, subject_base, sent_date, sort_from, sort_to, sort_cc, display_from, display_to, thread_id)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(NULLIF(?, ''),
			(SELECT m.thread_id FROM messages m INDEXED BY messages_msgid CROSS JOIN mailboxes b ON b.id = m.mailbox_id
				WHERE m.message_id IN (?, ?, ?, ?) AND m.thread_id != '' AND b.account_id = ? LIMIT 1),
			'T' || printf('%x', (SELECT IFNULL(MAX(id), 0) + 1 FROM messages))))`
	qBlobRef = `INSERT INTO blobs(id, size, refs) VALUES(?, ?, 1)
		ON CONFLICT(id) DO UPDATE SET refs = refs + 1`
	qInsertBlobData = "INSERT OR IGNORE INTO blob_data(id, data) VALUES(?, ?)"
	qBlobDataExists = "SELECT 1 FROM blob_data WHERE id = ?"
)

var hotWrites = []string{qChargeQuota, qNextUID, qInsertMessage, qBlobRef, qInsertBlobData, qBlobDataExists,
	"SAVEPOINT w", "RELEASE w", "ROLLBACK TO w", "SAVEPOINT m", "RELEASE m", "ROLLBACK TO m"}

// createMailbox inserts a mailbox. UIDVALIDITY is the creation time in
// seconds, raised above every value ever given (nextSeq), and the ID is
// never reused either, so that a mailbox deleted and re-created under the
// same name is a new mailbox: new UIDVALIDITY, empty, unknown to every
// cache keyed by ID (RFC 9051 §2.3.1.1). It does not subscribe the name:
// subscriptions are the client's (RFC 9051 §6.3.7).
func createMailbox(ctx context.Context, tx *sql.Tx, accountID int64, name, special string) (store.Mailbox, error) {
	v, err := nextSeq(ctx, tx, "uidvalidity", time.Now().Unix())
	if err != nil {
		return store.Mailbox{}, err
	}
	if v > 0xffffffff {
		return store.Mailbox{}, fmt.Errorf("sqlite: UIDVALIDITY exhausted")
	}
	id, err := nextSeq(ctx, tx, "mailbox", 0)
	if err != nil {
		return store.Mailbox{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO mailboxes(id, account_id, name, uidvalidity, special_use, subscribed)
		VALUES(?, ?, ?, ?, ?, 0)`, id, accountID, name, v, special); err != nil {
		return store.Mailbox{}, uniqueErr(err)
	}
	var subscribed bool
	err = tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE account_id = ? AND name = ?)",
		accountID, name).Scan(&subscribed)
	return store.Mailbox{ID: id, AccountID: accountID, Name: name, UIDValidity: uint32(v), UIDNext: 1,
		HighestModSeq: 1, SpecialUse: special, Subscribed: subscribed, FirstRecent: 1}, err
}

// CreateMailbox creates a mailbox for an account.
func (s *Store) CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (store.Mailbox, error) {
	var mb store.Mailbox
	err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
		mb, err = createMailbox(ctx, tx, accountID, name, specialUse)
		if err == nil {
			s.hub.touch(accountID, mb.ID) // IMAP NOTIFY's MailboxName (RFC 5465 §5.4)
		}
		return err
	})
	return mb, err
}

const mailboxCols = "id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use, " + subscribedCol + ", messages, unseen, size, first_recent, recent"

func scanMailbox(row interface{ Scan(...any) error }) (store.Mailbox, error) {
	var m store.Mailbox
	err := row.Scan(&m.ID, &m.AccountID, &m.Name, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq, &m.SpecialUse,
		&m.Subscribed, &m.Messages, &m.Unseen, &m.Size, &m.FirstRecent, &m.Recent)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	return m, err
}

// ListMailboxes returns an account's mailboxes by name, INBOX first.
func (s *Store) ListMailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error) {
	rows, err := s.query(ctx, "SELECT "+mailboxCols+
		" FROM mailboxes WHERE account_id = ? ORDER BY name != 'INBOX', name", accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// GetMailbox returns one mailbox by name; "INBOX" is case-insensitive.
func (s *Store) GetMailbox(ctx context.Context, accountID int64, name string) (store.Mailbox, error) {
	return scanMailbox(s.queryRow(ctx, "SELECT "+mailboxCols+
		" FROM mailboxes WHERE account_id = ? AND name = ?", accountID, canonicalName(name)))
}

func canonicalName(name string) string {
	if name == "" || strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

// Deliver stores messages through the group committer, in order, each in
// its own savepoint: one over quota does not fail the others.
func (s *Store) Deliver(ctx context.Context, msgs []store.NewMessage) ([]store.Delivered, []error) {
	out, errs, _, _ := s.DeliverAndEnqueue(ctx, msgs, nil)
	return out, errs
}

// DeliverAndEnqueue implements store.Store: the local copies and the queue
// rows in one transaction of the committer.
func (s *Store) DeliverAndEnqueue(ctx context.Context, msgs []store.NewMessage, q []store.QueuedMessage) ([]store.Delivered, []error, []int64, error) {
	out := make([]store.Delivered, len(msgs))
	errs := make([]error, len(msgs))
	if len(msgs) == 0 && len(q) == 0 {
		return out, errs, nil, nil
	}
	var ids []int64
	if len(msgs) == 1 && len(q) == 0 { // the committer's savepoint is enough
		err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
			out[0], err = s.insertMessage(ctx, tx, &msgs[0])
			return err
		})
		errs[0] = err
		return out, errs, nil, nil
	}
	err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
		for i := range msgs {
			errs[i] = s.commit.inSavepoint(ctx, tx, "m", func() (err error) {
				out[i], err = s.insertMessage(ctx, tx, &msgs[i])
				return err
			})
			if isFatal(errs[i]) {
				return errs[i]
			}
		}
		ids, err = s.enqueueTx(ctx, tx, q)
		return err
	})
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return out, errs, nil, err
	}
	return out, errs, ids, nil
}

// insertMessage charges the quota, takes the next UID and MODSEQ, inserts
// the row and counts the blob reference: four statements, all cached.
func (s *Store) insertMessage(ctx context.Context, tx *sql.Tx, m *store.NewMessage) (store.Delivered, error) {
	return s.insertCharged(ctx, tx, m, false)
}

// insertCharged is insertMessage; with force the quota is charged even
// past its limit (a move, whose bytes the source gives back). The message's
// size is its Headers' and its blob's.
func (s *Store) insertCharged(ctx context.Context, tx *sql.Tx, m *store.NewMessage, force bool) (store.Delivered, error) {
	var d store.Delivered
	size := int64(len(m.Headers)) + m.Size
	if err := s.chargeQuota(ctx, tx, m.AccountID, size, force); err != nil {
		return d, err
	}
	flags := normFlags(m.Flags)
	unseen := 1
	if slices.Contains(flags, flagSeen) {
		unseen = 0
	}
	err := s.txQueryRow(ctx, tx, qNextUID,
		unseen, size, m.AccountID, canonicalName(m.Mailbox)).Scan(&d.MailboxID, &d.UID, &d.ModSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, err
	}
	if err := s.insertRow(ctx, tx, m, size, flags, d); err != nil {
		return d, err
	}
	if err := s.indexText(ctx, tx, m, d); err != nil {
		return d, err
	}
	s.hub.touch(m.AccountID, d.MailboxID)
	if err := s.blobs.persist(ctx, tx, m.BlobID); err != nil {
		return d, err
	}
	_, err = s.txExec(ctx, tx, qBlobRef, m.BlobID, m.Size)
	return d, err
}

// chargeQuota adds size to the account's usage unless that would exceed
// its quota (mail.ErrQuotaFull) and force is false.
func (s *Store) chargeQuota(ctx context.Context, tx *sql.Tx, accountID, size int64, force bool) error {
	var id int64
	limit := size
	if force {
		limit = math.MinInt64 / 2 // used_bytes + limit <= quota always holds
	}
	err := s.txQueryRow(ctx, tx, qChargeQuota,
		size, accountID, limit).Scan(&id)
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err := tx.QueryRowContext(ctx, "SELECT id FROM accounts WHERE id = ?", accountID).Scan(&id); errors.Is(err, sql.ErrNoRows) {
		return mail.ErrNoSuchUser
	}
	return mail.ErrQuotaFull
}

func (s *Store) insertRow(ctx context.Context, tx *sql.Tx, m *store.NewMessage, size int64, flags []string, d store.Delivered) error {
	p := m.Parsed
	if p == nil {
		p = &message.Parsed{}
	}
	parsed, err := encodeParsed(p)
	if err != nil {
		return err
	}
	date := m.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	_, err = s.txExec(ctx, tx, qInsertMessage,
		d.MailboxID, d.UID, d.ModSeq, strings.Join(flags, " "), slices.Contains(flags, flagSeen), date.Unix(), zoneOf(date),
		time.Now().Unix(), size, m.BlobID, m.Headers, parsed, p.MessageID, p.BaseSubject, unixOrZero(p.SentDate),
		p.SortFrom, p.SortTo, p.SortCc, p.DisplayFrom, p.DisplayTo,
		m.ThreadID, msgIDArg(p.MessageID), firstID(p.InReplyTo), firstID(p.References), lastID(p.References), m.AccountID)
	return err
}

// msgIDArg is a Message-ID to look up, NULL when empty: an empty string
// would read every row without a Message-ID from the index.
func msgIDArg(id string) any {
	if id == "" {
		return nil
	}
	return id
}

func firstID(ids []string) any {
	if len(ids) == 0 {
		return nil
	}
	return msgIDArg(ids[0])
}

func lastID(ids []string) any {
	if len(ids) == 0 {
		return nil
	}
	return msgIDArg(ids[len(ids)-1])
}

// encodeParsed keeps what IMAP needs; the search text and the raw header
// list are not kept here (headers are read from the blob when asked for).
func encodeParsed(p *message.Parsed) (string, error) {
	c := *p
	c.Text = ""
	c.Headers = nil
	b, err := json.Marshal(&c)
	return string(b), err
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// normFlags deduplicates flags (system flags case-insensitively) and sorts.
func normFlags(flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if len(f) > 1 && f[0] == '\\' {
			f = `\` + strings.ToUpper(f[1:2]) + strings.ToLower(f[2:])
		}
		if f != `\` && f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// Messages lists a mailbox in UID order.
func (s *Store) Messages(ctx context.Context, mailboxID int64, withParsed bool) ([]store.Message, error) {
	cols := messageCols
	if withParsed {
		cols += ", parsed"
	}
	rows, err := s.query(ctx, "SELECT "+cols+" FROM messages WHERE mailbox_id = ? ORDER BY uid", mailboxID)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows, &s.parsed, mailboxID, withParsed)
}

// messageCols are the columns scanMessages reads, before parsed.
const messageCols = "id, uid, modseq, flags, internal_date, internal_zone, size, blob_id, headers, save_date, thread_id"

// zoneOf is the offset of t's zone, in seconds east of UTC: an
// INTERNALDATE keeps the zone it was given (RFC 3501 §2.3.3).
func zoneOf(t time.Time) int {
	_, off := t.Zone()
	return off
}

// inZone is the time of Unix seconds sec in the zone offset seconds east
// of UTC.
func inZone(sec int64, offset int) time.Time {
	t := time.Unix(sec, 0)
	if offset == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", offset))
}

// scanMessages reads rows of messageCols[, parsed] and closes them,
// decoding parsed through pc. Every row is scanned into the same
// variables, so the destinations are made once.
func scanMessages(rows *sql.Rows, pc *parsedCache, mailboxID int64, withParsed bool) ([]store.Message, error) {
	defer rows.Close()
	var out []store.Message
	var m store.Message
	var flags, parsed string
	var date, saved int64
	var zone int
	dest := []any{&m.ID, &m.UID, &m.ModSeq, &flags, &date, &zone, &m.Size, &m.BlobID, &m.Headers, &saved, &m.ThreadID, &parsed}
	if !withParsed {
		dest = dest[:len(dest)-1]
	}
	for rows.Next() {
		m = store.Message{MailboxID: mailboxID}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		m.Flags = strings.Fields(flags)
		m.InternalDate, m.SaveDate = inZone(date, zone), time.Unix(saved, 0)
		if parsed != "" {
			var err error
			if m.Parsed, err = pc.decode(parsed); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetFlags changes flags on some UIDs; each changed message gets a new
// MODSEQ (RFC 7162 §3.1.1).
func (s *Store) SetFlags(ctx context.Context, mailboxID int64, uids []uint32, flags []string, op int) (uint64, error) {
	top, _, err := s.setFlags(ctx, mailboxID, uids, flags, op, math.MaxInt64)
	return top, err
}

// setFlags changes flags on the UIDs whose MODSEQ is at most
// unchangedSince and returns the others (RFC 7162 §3.1.3).
func (s *Store) setFlags(ctx context.Context, mailboxID int64, uids []uint32, flags []string, op int, unchangedSince uint64) (uint64, []uint32, error) {
	var top uint64
	var modified []uint32
	err := s.doReserved(ctx, func(ctx context.Context, tx *sql.Tx) error { // reserve.go
		modified = modified[:0]
		for _, uid := range uids {
			var cur string
			var wasSeen bool
			var modseq uint64
			err := s.txQueryRow(ctx, tx, "SELECT flags, seen, modseq FROM messages WHERE mailbox_id = ? AND uid = ?",
				mailboxID, uid).Scan(&cur, &wasSeen, &modseq)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if modseq > unchangedSince {
				modified = append(modified, uid)
				continue
			}
			next := applyFlags(strings.Fields(cur), normFlags(flags), op)
			if strings.Join(next, " ") == cur {
				continue
			}
			if top, err = s.bumpModSeq(ctx, tx, mailboxID); err != nil {
				return err
			}
			seen := slices.Contains(next, flagSeen)
			if _, err := s.txExec(ctx, tx, "UPDATE messages SET flags = ?, seen = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
				strings.Join(next, " "), seen, top, mailboxID, uid); err != nil {
				return err
			}
			if seen != wasSeen {
				delta := map[bool]int{true: -1, false: 1}[seen]
				if _, err := s.txExec(ctx, tx, "UPDATE mailboxes SET unseen = unseen + ? WHERE id = ?", delta, mailboxID); err != nil {
					return err
				}
			}
		}
		s.touchMailbox(ctx, tx, mailboxID)
		return s.txQueryRow(ctx, tx, "SELECT highestmodseq FROM mailboxes WHERE id = ?", mailboxID).Scan(&top)
	})
	return top, modified, err
}

func applyFlags(cur, flags []string, op int) []string {
	switch {
	case op > 0:
		return normFlags(append(cur, flags...))
	case op < 0:
		return slices.DeleteFunc(cur, func(f string) bool { return slices.Contains(flags, f) })
	default:
		return flags
	}
}

func (s *Store) bumpModSeq(ctx context.Context, tx *sql.Tx, mailboxID int64) (uint64, error) {
	var v uint64
	err := s.txQueryRow(ctx, tx, "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ? RETURNING highestmodseq",
		mailboxID).Scan(&v)
	return v, err
}

// Expunge removes UIDs and remembers them for QRESYNC.
func (s *Store) Expunge(ctx context.Context, mailboxID int64, uids []uint32) (uint64, error) {
	var modseq uint64
	err := s.doReserved(ctx, func(ctx context.Context, tx *sql.Tx) (err error) { // reserve.go
		if modseq, err = s.bumpModSeq(ctx, tx, mailboxID); err != nil {
			return err
		}
		for _, uid := range uids {
			if err := s.expungeOne(ctx, tx, mailboxID, uid, modseq); err != nil {
				return err
			}
		}
		s.touchMailbox(ctx, tx, mailboxID)
		return nil
	})
	return modseq, err
}

func (s *Store) expungeOne(ctx context.Context, tx *sql.Tx, mailboxID int64, uid uint32, modseq uint64) error {
	var size int64
	var seen bool
	var blobID string
	err := s.txQueryRow(ctx, tx, "DELETE FROM messages WHERE mailbox_id = ? AND uid = ? RETURNING size, seen, blob_id",
		mailboxID, uid).Scan(&size, &seen, &blobID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	unseen := 1
	if seen {
		unseen = 0
	}
	stmts := []struct {
		q    string
		args []any
	}{
		{"INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES(?, ?, ?)", []any{mailboxID, uid, modseq}},
		{"UPDATE mailboxes SET messages = messages - 1, unseen = unseen - ?, size = size - ?, recent = recent - (? >= first_recent) WHERE id = ?",
			[]any{unseen, size, uid, mailboxID}},
		{"UPDATE accounts SET used_bytes = used_bytes - ? WHERE id = (SELECT account_id FROM mailboxes WHERE id = ?)", []any{size, mailboxID}},
		{"UPDATE blobs SET refs = refs - 1 WHERE id = ?", []any{blobID}},
	}
	for _, st := range stmts {
		if _, err := s.txExec(ctx, tx, st.q, st.args...); err != nil {
			return err
		}
	}
	return nil
}

// Vanished returns UIDs expunged after MODSEQ since, ascending.
func (s *Store) Vanished(ctx context.Context, mailboxID int64, since uint64) ([]uint32, error) {
	return scanUIDs(s.query(ctx, "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
		mailboxID, since))
}

// CopyMessages copies (or moves) messages between mailboxes of one account.
func (s *Store) CopyMessages(ctx context.Context, src int64, uids []uint32, dst int64, move bool) ([]store.UIDPair, error) {
	var pairs []store.UIDPair
	write := s.commit.do
	if move { // moving to Trash is how many clients delete: reserve.go
		write = s.doReserved
	}
	err := write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		pairs, _, err = s.copyIn(ctx, tx, src, uids, dst, move)
		if err != nil || !move || len(pairs) == 0 {
			return err
		}
		// The copies were charged unconditionally; the expunges below give
		// the same bytes back, so a move never changes the usage.
		modseq, err := s.bumpModSeq(ctx, tx, src)
		if err != nil {
			return err
		}
		for _, p := range pairs {
			if err := s.expungeOne(ctx, tx, src, p.Src, modseq); err != nil {
				return err
			}
		}
		s.touchMailbox(ctx, tx, src)
		return nil
	})
	return pairs, err
}

func (s *Store) copyIn(ctx context.Context, tx *sql.Tx, src int64, uids []uint32, dst int64, move bool) ([]store.UIDPair, int64, error) {
	var srcAcct, dstAcct int64
	if err := s.txQueryRow(ctx, tx, "SELECT account_id FROM mailboxes WHERE id = ?", src).Scan(&srcAcct); err != nil {
		return nil, 0, notFound(err)
	}
	if err := s.txQueryRow(ctx, tx, "SELECT account_id FROM mailboxes WHERE id = ?", dst).Scan(&dstAcct); err != nil {
		return nil, 0, notFound(err)
	}
	if srcAcct != dstAcct {
		return nil, 0, errors.New("sqlite: copy between accounts")
	}
	sorted := slices.Clone(uids)
	slices.Sort(sorted)
	var pairs []store.UIDPair
	var total int64
	for _, uid := range slices.Compact(sorted) {
		newUID, size, ok, err := s.copyOne(ctx, tx, src, uid, dst, srcAcct, move)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			pairs = append(pairs, store.UIDPair{Src: uid, Dst: newUID})
			total += size
		}
	}
	return pairs, total, nil
}

// copyOne copies one message row, its Headers included; ok is false when
// uid does not exist. It returns the copy's UID and size.
func (s *Store) copyOne(ctx context.Context, tx *sql.Tx, src int64, uid uint32, dst, account int64, move bool) (uint32, int64, bool, error) {
	var m store.NewMessage
	var flags string
	var date, size int64
	var zone int
	var parsed string
	err := s.txQueryRow(ctx, tx, "SELECT flags, internal_date, internal_zone, size, blob_id, headers, parsed, thread_id FROM messages WHERE mailbox_id = ? AND uid = ?",
		src, uid).Scan(&flags, &date, &zone, &size, &m.BlobID, &m.Headers, &parsed, &m.ThreadID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	var name string
	if err := s.txQueryRow(ctx, tx, "SELECT name FROM mailboxes WHERE id = ?", dst).Scan(&name); err != nil {
		return 0, 0, false, err
	}
	m.AccountID, m.Mailbox, m.Flags, m.InternalDate = account, name, strings.Fields(flags), inZone(date, zone)
	m.Size = size - int64(len(m.Headers)) // NewMessage.Size is the blob's
	m.Parsed = new(message.Parsed)
	if parsed != "" {
		if err := json.Unmarshal([]byte(parsed), m.Parsed); err != nil {
			return 0, 0, false, err
		}
	}
	// A move must not fail for quota, even when the account is already
	// over it: its bytes are given back by the expunge that follows.
	d, err := s.insertCharged(ctx, tx, &m, move)
	if err == nil {
		err = s.copyText(ctx, tx, src, uid, d)
	}
	return d.UID, size, err == nil, err
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}
