// Package store defines what Facteur's protocol front-ends and delivery
// pipeline need from storage, and nothing about how a backend provides it.
// Backends live in sub-packages (sqlite, later postgres) and must all pass
// the conformance suite in storetest.
//
// The model: domains own accounts; accounts own mailboxes; mailboxes hold
// messages, each a row with IMAP metadata (UID, MODSEQ, flags) pointing at an
// immutable blob that may be shared by many rows. Every change to a mailbox
// raises its HIGHESTMODSEQ (RFC 7162 §3.1); expunged UIDs are remembered with
// the MODSEQ of their removal so QRESYNC (RFC 7162 §3.2.5) can report them.
//
// A message row may also hold header field lines of its own (Headers: the
// Authentication-Results of inbound checks, a Sieve addheader) that come
// before the blob's bytes, so that copies differing only in added fields
// share one blob and a blob is never written twice. The message is
// Headers followed by the blob: its Size, quota charge and offsets
// (Parsed) count both, and OpenMessage reads both.
package store

import (
	"context"
	"errors"
	"io"
	"time"

	"facteur.dev/facteur/internal/message"
)

// Errors shared by every backend.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	// ErrStorageFull: a write failed for want of disk space.
	ErrStorageFull = errors.New("store: no space left on the device")
)

// Store is the whole storage contract. Users should depend on the smallest
// interface they need.
type Store interface {
	Domains
	Accounts
	Aliases
	Mail
	Queue
	TextSearch
	AccessKeys
	SenderLists
	DMARC
	SieveScripts
	SieveMemory
	Blobs() BlobStore
	Close() error
}

// Domains are the mail domains this server is final destination for.
type Domains interface {
	AddDomain(ctx context.Context, name string) error
	DeleteDomain(ctx context.Context, name string) error
	ListDomains(ctx context.Context) ([]string, error)
	HasDomain(ctx context.Context, name string) (bool, error)
}

// Account is a user with a mailbox tree. Address is lowercase local@domain.
type Account struct {
	ID           int64
	Address      string
	PasswordHash string // argon2id, PHC string form
	SCRAM        string // SCRAM-SHA-256 stored key, RFC 5803 form
	QuotaBytes   int64  // 0 means unlimited
	UsedBytes    int64
	Disabled     bool
}

// Accounts manages users. CreateAccount also creates the default mailboxes
// (DefaultMailboxes) with their special-use attributes.
type Accounts interface {
	CreateAccount(ctx context.Context, a Account) (Account, error)
	DeleteAccount(ctx context.Context, address string) error
	SetPassword(ctx context.Context, address, hash, scram string) error
	SetQuota(ctx context.Context, address string, bytes int64) error
	// SetDisabled disables an account (its logins fail, mail to it is
	// refused) or enables it again; its mail is kept either way.
	SetDisabled(ctx context.Context, address string, disabled bool) error
	LookupAccount(ctx context.Context, address string) (Account, error)
	ListAccounts(ctx context.Context, domain string) ([]Account, error)
}

// Alias maps an address ("@domain" for a catch-all) to targets.
type Alias struct {
	Address string
	Targets []string
}

// Aliases manages address rewriting. AliasTargets returns ErrNotFound when
// address has no alias.
type Aliases interface {
	AddAlias(ctx context.Context, address string, targets []string) error
	DeleteAlias(ctx context.Context, address string) error
	ListAliases(ctx context.Context) ([]Alias, error)
	AliasTargets(ctx context.Context, address string) ([]string, error)
}

// Special-use attributes, RFC 6154 §2.
const (
	SpecialDrafts  = `\Drafts`
	SpecialSent    = `\Sent`
	SpecialJunk    = `\Junk`
	SpecialTrash   = `\Trash`
	SpecialArchive = `\Archive`
)

// DefaultMailboxes are created with every account, name → special-use.
var DefaultMailboxes = []struct{ Name, SpecialUse string }{
	{"INBOX", ""},
	{"Drafts", SpecialDrafts},
	{"Sent", SpecialSent},
	{"Junk", SpecialJunk},
	{"Trash", SpecialTrash},
	{"Archive", SpecialArchive},
}

// Mailbox is a folder with its IMAP state and counters.
type Mailbox struct {
	ID            int64
	AccountID     int64
	Name          string // "/"-separated hierarchy, UTF-8
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	SpecialUse    string
	Subscribed    bool
	Messages      int64
	Unseen        int64
	Size          int64
	// FirstRecent is the lowest UID no session has claimed (ClaimRecent):
	// the messages from it up are \Recent (RFC 3501 §2.3.2) to the next
	// session that claims them; Recent counts them. A new message, copied
	// or appended too, is always above it: it is recent until claimed.
	FirstRecent uint32
	Recent      int64
}

// Message is one message in one mailbox.
type Message struct {
	ID           int64
	MailboxID    int64
	UID          uint32
	ModSeq       uint64
	Flags        []string // system flags (\Seen …) and keywords
	InternalDate time.Time
	SaveDate     time.Time // when it was stored in this mailbox (RFC 8514)
	Size         int64     // len(Headers) + the blob's size
	BlobID       string
	// Headers are header field lines, each ending in CRLF, that come
	// before the blob's bytes in this copy only ("" for none). Read the
	// message with OpenMessage.
	Headers  string
	ThreadID string // RFC 8474 §5.2; "" for a message stored before threads were kept
	// Parsed is nil unless asked for. Its offsets count Headers. It is read-only: a backend may hand
	// the same value to every caller that reads the message.
	Parsed *message.Parsed
}

// NewMessage is a message to be stored. Mailbox "" means INBOX.
type NewMessage struct {
	AccountID int64
	Mailbox   string
	BlobID    string
	Size      int64 // the blob's size, as BlobWriter.Commit returned it
	// Headers are header field lines, each ending in CRLF, to put before
	// the blob's bytes for this copy only; the stored message's Size is
	// len(Headers) + Size, and that is what the quota is charged.
	Headers      string
	InternalDate time.Time
	Flags        []string
	// Parsed describes Headers followed by the blob (for a blob's own
	// Parsed p, p.WithPrefix(Headers)).
	Parsed *message.Parsed
	// ThreadID (RFC 8474 §5.2) is kept by a copy; when empty the backend
	// gives the message the thread of a message of the account that its
	// Message-ID, In-Reply-To or References names, else a new one.
	ThreadID string
}

// Delivered tells where a NewMessage was stored.
type Delivered struct {
	MailboxID int64
	UID       uint32
	ModSeq    uint64
}

// Mail is the mailbox and message part of the store.
type Mail interface {
	// Deliver stores messages, each independently: errs[i] is nil when
	// msgs[i] is durable (fsynced) when Deliver returns. A message over the
	// account's quota fails with mail.ErrQuotaFull. Backends group
	// concurrent calls into one transaction and one fsync.
	Deliver(ctx context.Context, msgs []NewMessage) (out []Delivered, errs []error)
	// DeliverAndEnqueue is Deliver and Queue.Enqueue in one transaction:
	// the local copies of a message and the queue rows for its remote
	// targets are durable together. err (the queue rows could not be
	// stored) fails every message too; otherwise errs[i] is msgs[i]'s.
	DeliverAndEnqueue(ctx context.Context, msgs []NewMessage, q []QueuedMessage) (out []Delivered, errs []error, ids []int64, err error)
	ListMailboxes(ctx context.Context, accountID int64) ([]Mailbox, error)
	GetMailbox(ctx context.Context, accountID int64, name string) (Mailbox, error)
	// CreateMailbox creates a mailbox, without its superior levels and
	// without subscribing it (ErrExists if the name is taken). The
	// mailbox is new to every cache: an ID and a UIDVALIDITY never given
	// before, also when the name was a mailbox's before.
	CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (Mailbox, error)
	// Messages lists a mailbox's messages in UID order, with Parsed filled
	// when withParsed is true.
	Messages(ctx context.Context, mailboxID int64, withParsed bool) ([]Message, error)
	// SetFlags adds (op>0), removes (op<0) or replaces (op==0) flags on the
	// given UIDs, raising their MODSEQ; it returns the new HIGHESTMODSEQ.
	SetFlags(ctx context.Context, mailboxID int64, uids []uint32, flags []string, op int) (uint64, error)
	// Expunge removes the given UIDs and remembers them with the MODSEQ of
	// their removal; it returns that MODSEQ.
	Expunge(ctx context.Context, mailboxID int64, uids []uint32) (uint64, error)
	// Vanished returns the UIDs expunged with a MODSEQ above since.
	Vanished(ctx context.Context, mailboxID int64, since uint64) ([]uint32, error)
	// CopyMessages copies the given UIDs, in UID order, to another mailbox
	// of the same account, keeping flags, INTERNALDATE and Headers and
	// sharing the blob; with move it also expunges them from the source (RFC 6851).
	// A copy is charged to the quota (mail.ErrQuotaFull), a move is not.
	// It returns the source and new UIDs of what was copied (RFC 4315
	// COPYUID); UIDs that no longer exist are skipped.
	CopyMessages(ctx context.Context, src int64, uids []uint32, dst int64, move bool) ([]UIDPair, error)
	// MessagesByUID returns the messages with the given UIDs (sorted
	// ascending), skipping UIDs that do not exist, with Parsed filled when
	// withParsed is true.
	MessagesByUID(ctx context.Context, mailboxID int64, uids []uint32, withParsed bool) ([]Message, error)
	// ChangedSince returns the messages whose MODSEQ is above since, in
	// UID order, without parsed data (RFC 7162 CHANGEDSINCE).
	ChangedSince(ctx context.Context, mailboxID int64, since uint64) ([]Message, error)
	// Watch delivers the ID of a mailbox of the account each time a
	// transaction that changed it is durable (new, changed or expunged
	// messages; the mailbox created, renamed, deleted, subscribed or
	// unsubscribed: IMAP NOTIFY reports those), until stop is called. Wake-ups may be merged or dropped
	// when the receiver is slow: they say "look again", the data comes
	// from ChangedSince and Vanished.
	Watch(accountID int64) (wakeups <-chan int64, stop func())
	// MessageStates returns a mailbox and the UID, MODSEQ and flags of
	// each of its messages in UID order, read in one snapshot: the
	// compact view an IMAP session keeps of its selected mailbox. Equal
	// flag sets share one slice, which callers must not modify.
	MessageStates(ctx context.Context, mailboxID int64) (Mailbox, []MessageState, error)
	// DeleteMailbox removes a mailbox and its messages, releasing their
	// quota and blob references (RFC 9051 §6.3.5). The mailboxes below
	// it stay (RFC 3501 §6.3.4: DELETE MUST NOT remove inferior names).
	// INBOX cannot be deleted; ErrNotFound if there is no such mailbox.
	DeleteMailbox(ctx context.Context, accountID int64, name string) error
	// RenameMailbox renames a mailbox and every mailbox under it ("old/x"
	// becomes "new/x"), keeping their UIDVALIDITY, UIDs and messages
	// (RFC 9051 §6.3.6). ErrExists if a new name is taken, ErrNotFound
	// if neither old nor a mailbox under it exists: when only mailboxes
	// under old exist (IMAP's \Noselect level), they are renamed. INBOX
	// cannot be renamed this way: IMAP's RENAME INBOX moves its messages
	// instead.
	RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) error
	// SetFlagsUnchangedSince is SetFlags for the messages whose MODSEQ
	// is at most unchangedSince, checked in the transaction that changes
	// them (RFC 7162 §3.1.3, UNCHANGEDSINCE); it also returns the UIDs it
	// left alone because they changed since.
	SetFlagsUnchangedSince(ctx context.Context, mailboxID int64, uids []uint32, flags []string, op int, unchangedSince uint64) (uint64, []uint32, error)
	// SetSubscribed adds a name to the subscriptions or removes it
	// (RFC 9051 §6.3.7, §6.3.8): the name need not exist (see
	// SubscriptionLister); removing a name that is neither subscribed nor
	// a mailbox is ErrNotFound.
	SetSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error
	// ClaimRecent gives the caller the messages below UID below that no
	// one has claimed (RFC 3501 §2.3.2: \Recent is set in exactly one
	// session, the first to be told of the message): in one transaction
	// it raises FirstRecent to below (at most UIDNEXT) and returns the
	// UIDs from <= uid < to that are now the caller's alone; from == to
	// when none are. An IMAP session claims at SELECT (not EXAMINE) and
	// again when it learns of new messages.
	ClaimRecent(ctx context.Context, mailboxID int64, below uint32) (from, to uint32, err error)
}

// MessageState is what MessageStates returns for one message.
type MessageState struct {
	UID    uint32
	ModSeq uint64
	Flags  []string
}

// UIDPair maps a source UID to the UID its copy got.
type UIDPair struct{ Src, Dst uint32 }

// QueuedMessage is an outbound message for one destination domain.
type QueuedMessage struct {
	ID          int64
	Sender      string // "" for the null reverse-path
	Recipients  []string
	Domain      string
	BlobID      string
	Size        int64
	Created     time.Time
	NextAttempt time.Time
	Attempts    int
	LastError   string
	Held        bool
	// Txn is the ID of the transaction that brought the message in (its
	// Received header's "id"), which the logs of its receipt, delivery and
	// relay share; "" for mail the server made (DSNs, reports).
	Txn string
	// DSN parameters, RFC 3461.
	EnvID string
	Ret   string
	// Status is per-recipient state, parallel to Recipients; Enqueue fills
	// what is missing as pending with default DSN parameters.
	Status []RecipientStatus
	// Headers are header lines (CRLF-terminated, such as DKIM-Signature)
	// sent before the blob's bytes.
	Headers string
	// SMTPUTF8: the message needs a server offering SMTPUTF8 (RFC 6531).
	// Body8Bit: MAIL FROM carried BODY=8BITMIME (RFC 6152).
	// RequireTLS: MAIL FROM carried REQUIRETLS (RFC 8689).
	SMTPUTF8, Body8Bit, RequireTLS bool
	// Warned is set once a delay notification has been sent.
	Warned bool
}

// Recipient states in the outbound queue.
const (
	RcptPending   = ""
	RcptDelivered = "delivered"
	RcptFailed    = "failed"
)

// RecipientStatus is one queued recipient's DSN parameters (RFC 3461 §4)
// and outcome.
type RecipientStatus struct {
	Notify string `json:"notify,omitempty"` // "" (FAILURE), "NEVER", or a comma list of SUCCESS, FAILURE, DELAY
	ORcpt  string `json:"orcpt,omitempty"`  // original recipient, "rfc822;addr"
	State  string `json:"state,omitempty"`  // RcptPending, RcptDelivered or RcptFailed
	Reply  string `json:"reply,omitempty"`  // the last remote reply or local error
}

// Queue is the durable outbound queue. Delivery workers claim due entries
// for a lease; an entry whose worker died is claimable again when its
// lease ends (or after ReleaseClaims at start-up).
type Queue interface {
	// Enqueue stores messages durably and returns their IDs.
	Enqueue(ctx context.Context, msgs []QueuedMessage) ([]int64, error)
	// ListQueue returns every entry, in order of next attempt.
	ListQueue(ctx context.Context) ([]QueuedMessage, error)
	// GetQueued returns one entry or ErrNotFound.
	GetQueued(ctx context.Context, id int64) (QueuedMessage, error)
	// ClaimQueued claims up to limit entries that are due at now, not held
	// and not claimed, until the lease ends at until.
	ClaimQueued(ctx context.Context, now, until time.Time, limit int) ([]QueuedMessage, error)
	// ReleaseClaims ends every lease; a single node calls it at start-up.
	ReleaseClaims(ctx context.Context) error
	// UpdateQueued records an attempt (Status, Attempts, NextAttempt,
	// LastError, Warned) and ends the entry's lease; ErrNotFound if gone.
	UpdateQueued(ctx context.Context, m QueuedMessage) error
	// DeleteQueued removes an entry (done, bounced or deleted by an
	// administrator) and drops its blob reference; ErrNotFound if gone.
	DeleteQueued(ctx context.Context, id int64) error
	// HoldQueued holds (true) or releases (false) an entry.
	HoldQueued(ctx context.Context, id int64, held bool) error
	// FlushQueue makes one entry (id > 0) or every unheld entry (id 0)
	// due at now; it returns how many entries it changed.
	FlushQueue(ctx context.Context, id int64, now time.Time) (int, error)
}

// BlobStore keeps immutable message bytes, content-addressed.
type BlobStore interface {
	// Create starts a new blob. Nothing is visible until Commit.
	Create(ctx context.Context) (BlobWriter, error)
	// Open opens a committed blob.
	Open(ctx context.Context, id string) (Blob, error)
	// OpenMany opens committed blobs: blobs[i] is ids[i], and an ID may
	// appear more than once. It fails as Open would for any of them,
	// leaving none open. A backend may read them together: for a client
	// that asks for many messages at once (POP3 RETRs pipelined).
	OpenMany(ctx context.Context, ids []string) (blobs []Blob, err error)
}

// BlobWriter receives a blob's bytes.
type BlobWriter interface {
	io.Writer
	// Commit returns the blob's ID; writing the same bytes twice yields
	// the same ID and one copy. The bytes are readable at once and durable
	// (fsynced) no later than the Deliver or Enqueue that first refers to
	// them returns: a blob nothing refers to may not survive a crash.
	Commit() (id string, size int64, err error)
	// Abort discards an uncommitted blob; harmless after Commit.
	Abort() error
}

// Blob is a committed blob opened for reading.
type Blob interface {
	io.ReadCloser
	io.ReaderAt
	Size() int64
}
