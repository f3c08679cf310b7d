// Package sieve is Facteur's Sieve interpreter (RFC 5228 and the
// extensions listed in Extensions): a lexer, a parser, compile-time
// checks, and an executor that turns a script and a message into a
// Result (the actions to carry out). It knows nothing of the store or
// of SMTP: the delivery pipeline gives it the message and what it needs
// to know (Input, Mailboxes, Memory) and carries out the Result.
package sieve

import (
	"context"
	"io"
	"strconv"
	"time"
)

// CompileOptions are what Compile needs besides the script.
type CompileOptions struct {
	// Name is the script's name, for errors and for include's :once.
	Name string
	// Extensions are the extensions a script may require; nil: all of
	// Extensions().
	Extensions []string
	// Include returns the script named by include (RFC 6609): personal
	// scripts are the account's, global ones the server's. Nil: include
	// fails to compile.
	Include func(name string, global bool) ([]byte, error)
	// MaxSize bounds the script's size in bytes (0: DefaultMaxSize).
	MaxSize int
	// MaxIncludes bounds the scripts one script includes in all, and
	// MaxIncludeDepth how deep includes nest (RFC 6609 §3; 0: 255 and 10).
	MaxIncludes, MaxIncludeDepth int
	// MaxHeaderSize bounds the value of a header field addheader adds,
	// in bytes, checked at compile time for a constant value and at run
	// time otherwise (RFC 5293 §8 lets an implementation limit it; 0:
	// DefaultMaxHeaderSize).
	MaxHeaderSize int
	// NoNotify makes the notify command (RFC 5435) a compile error, for
	// sites that allow no notifications (see Limits.Notifications).
	NoNotify bool
	// Lists, when set, are the lists of the extlists extension (RFC
	// 6134) the script will see at run time (Input.Lists): a constant
	// :list name they do not know is a compile error (RFC 6134 §2.4).
	// Nil: list names are checked at run time only.
	Lists Lists

	// extra are extensions only this package's tests add (the
	// vnd.dovecot.testsuite commands of the Pigeonhole suite's runner).
	extra []*extension
}

// DefaultMaxSize is the largest script Compile takes by default.
const DefaultMaxSize = 1 << 20

// DefaultMaxHeaderSize is the largest header field value addheader adds
// by default.
const DefaultMaxHeaderSize = 2048

// Error is one compile error (or warning) at a line and column, both
// from 1.
type Error struct {
	Line, Column int
	Msg          string
	// Warning marks a warning: in the ErrorList of a script that did not
	// compile, the warnings found are listed with the errors.
	Warning bool
}

func (e *Error) Error() string {
	s := itoa(e.Line) + ":" + itoa(e.Column) + ": "
	if e.Warning {
		s += "warning: "
	}
	return s + e.Msg
}

func itoa(n int) string { return strconv.Itoa(n) }

// ErrorList is what Compile returns when a script does not compile: every
// error found, in order of position.
type ErrorList []*Error

func (l ErrorList) Error() string {
	s := ""
	for i, e := range l {
		if i > 0 {
			s += "\n"
		}
		s += e.Error()
	}
	return s
}

// Envelope is the SMTP envelope a script sees (RFC 5228 §5.4).
type Envelope struct {
	From string // the reverse-path, "" for the null sender
	To   string // the recipient as it reached the account (an alias, a +tag)
	Auth string // the authenticated submitter, if any (RFC 5228 §5.4 "auth")
	// OrigTo is the original recipient (RFC 3461 §4.2 ORCPT) when it
	// differs from To and is known, "" otherwise.
	OrigTo string
}

// Input is one execution of a script: one message for one account.
type Input struct {
	// Message is the message as it will be stored (with the header lines
	// the pipeline prepends, such as Authentication-Results), Size bytes.
	Message  io.ReaderAt
	Size     int64
	Envelope Envelope
	// User is the account's address: the default of vacation's
	// :addresses and of notify's and vacation's From.
	User string
	// Now is the time of delivery (currentdate, vacation periods).
	Now time.Time
	// Environment holds the RFC 5183 items: "domain", "host",
	// "location", "name", "phase", "remote-host", "remote-ip", "version".
	Environment map[string]string
	// SpamPercent is the spam checks' verdict, 0 (surely ham) to 100
	// (surely spam), or -1 when no spam check ran (RFC 5235 spamtest,
	// spamtestplus). Virus is virustest's 1 (clean) to 5 (infected), 0 when
	// no virus check ran.
	SpamPercent int
	Virus       int
	Mailboxes   Mailboxes
	Memory      Memory
	Vacation    VacationOptions
	// Flags are the internal flags (RFC 5232 §3) a script starts with:
	// those a previous script of a chain left (Result.Flags), nil for
	// the first.
	Flags []string
	// VacationOrigTo counts Envelope.OrigTo among the user's addresses
	// that vacation answers for (RFC 5230 §4.5); default false.
	VacationOrigTo bool
	Lists          Lists // extlists (RFC 6134); nil: no lists
	// Metadata answers mboxmetadata and servermetadata (RFC 5490
	// §3.2–3.4); nil: no annotations exist.
	Metadata Metadata
	Limits   Limits

	hook any // state of this package's tests, seen by their extensions
}

// VacationOptions are the site's choices for vacation replies (RFC
// 5230); the zero value is the RFC's defaults.
type VacationOptions struct {
	// DefaultSubject is the subject of a reply when the script gives
	// none; "": "Auto: " and the original subject (RFC 5230 §4.3).
	DefaultSubject string
	// SubjectTemplate, when set, makes that subject instead:
	// "%{subject}" is the original subject, "%%" a "%".
	SubjectTemplate string
	// MaxSubject bounds a subject made so, in characters, "…" ending a
	// cut one (DefaultMaxSubject).
	MaxSubject int
	// IgnoreEnvelope addresses the reply's To to the first of the
	// message's Reply-To, Sender and From even when none holds the
	// envelope sender (one rewritten by SRS, say).
	IgnoreEnvelope bool
	// NoRecipientCheck answers even when none of the user's addresses is
	// among the message's recipients (the check of RFC 5230 §4.5).
	NoRecipientCheck bool
	// FromRecipient sends the reply from Envelope.To rather than the
	// null sender RFC 5230 §5 recommends.
	FromRecipient bool
}

// DefaultMaxSubject bounds a vacation reply's default subject.
const DefaultMaxSubject = 256

// Mailboxes answers the mailbox questions of the mailbox (RFC 5490),
// special-use (RFC 8579) and mailboxid (RFC 9042) extensions. Names are
// UTF-8, "INBOX" the inbox.
type Mailboxes interface {
	Exists(ctx context.Context, name string) bool
	// SpecialUse returns the mailbox with the special use (`\Junk`…).
	SpecialUse(ctx context.Context, use string) (name string, ok bool)
	// ByID returns the mailbox whose MAILBOXID is id.
	ByID(ctx context.Context, id string) (name string, ok bool)
}

// Memory is what is remembered from one delivery to the next for an
// account: the IDs the duplicate test has seen (RFC 7352) and the
// senders vacation has answered (RFC 5230 §4.2). Keys are made by the
// interpreter; marks are set by the caller from Result.Remember once the
// actions are carried out.
type Memory interface {
	Seen(ctx context.Context, key string) (bool, error)
}

// Limits bound one execution; zero values take the defaults.
type Limits struct {
	Steps       int // commands and tests evaluated (DefaultSteps)
	Redirects   int // redirect actions (DefaultRedirects)
	Actions     int // actions of any kind (DefaultActions)
	HeaderEdits int // addheader and deleteheader (DefaultHeaderEdits)
	// VariableSize bounds a variable's value in bytes; a longer value is
	// cut, between two characters (or escapes of :quotewildcard and
	// :encodeurl), as RFC 5229 §3 allows (DefaultVariableSize).
	VariableSize int
	// Notifications bounds the notify actions (RFC 5435 §3.7;
	// DefaultNotifications); negative: notify is refused at run time.
	Notifications int
	// Time bounds the whole execution, checked between steps
	// (DefaultTime).
	Time time.Duration
}

// The default limits.
const (
	DefaultSteps         = 100000
	DefaultRedirects     = 4
	DefaultActions       = 32
	DefaultHeaderEdits   = 64
	DefaultVariableSize  = 4096
	DefaultNotifications = 10
	DefaultTime          = 5 * time.Second
)

// maxMatchCost bounds one regular expression match: the pattern's length
// times the subject's. RE2 is linear in each, but a 10 KB pattern on a
// 100 KB string is still seconds of CPU; such a match is a runtime error.
const maxMatchCost = 50 << 20

// Result is what an execution decided. A runtime error (Run's error)
// means the caller keeps the message as if the script were absent: the
// implicit keep (RFC 5228 §2.10.6).
type Result struct {
	// Actions in the order the script took them; an implicit keep, when
	// not cancelled, is a Keep at the end.
	Actions []Action
	// Flags are the internal flags (RFC 5232 §3) the script left, for
	// the next script of a chain (Input.Flags).
	Flags []string
	// ImplicitKeep is true when the last action is the implicit keep
	// (RFC 5228 §2.10.2) on its own, not merged with an explicit keep.
	ImplicitKeep bool
	// Remember are the marks to record in Memory once the actions are
	// carried out.
	Remember []Mark
	// Log holds warnings (a redirect to an address that is not one, a
	// vacation not sent and why), for the caller's log.
	Log []string
}

// Mark is a Memory key remembered until Expires.
type Mark struct {
	Key     string
	Expires time.Time
}

// Action is one of Keep, FileInto, Redirect, Reject, Discard, Send.
type Action interface{ action() }

// Edited is a message's header as editheader (RFC 5293) left it when an
// action was taken: the whole header section, CRLF-terminated lines and
// the empty line, which replaces the message's own. Nil when unchanged.
type Edited []byte

// Keep stores the message in the mailbox it would have gone to without
// the script (RFC 5228 §4.3), with Flags (RFC 5232).
type Keep struct {
	Flags  []string
	Header Edited
}

// FileInto stores the message in Mailbox (RFC 5228 §4.1), created first
// when Create (RFC 5490 §3.1) and missing; SpecialUse (RFC 8579) or
// MailboxID (RFC 9042), when set, name the mailbox to prefer, Mailbox
// being the fallback.
type FileInto struct {
	Mailbox    string
	Flags      []string
	Create     bool
	SpecialUse string
	MailboxID  string
	Header     Edited
}

// Redirect sends the message to Address (RFC 5228 §4.2).
type Redirect struct {
	Address string
	Header  Edited
}

// Reject refuses the message with Reason (RFC 5429): at SMTP time when
// the caller can, else by a message to the sender (RejectMessage).
// Extended is ereject.
type Reject struct {
	Reason   string
	Extended bool
}

// Discard is an explicit discard (RFC 5228 §4.4); the implicit keep is
// cancelled.
type Discard struct{}

// Send is a message the script has the server send: a vacation reply
// (RFC 5230) or an enotify mailto notification (RFC 5436), composed in
// full. From is the envelope sender ("" = the null sender, as vacation
// replies must have), To the envelope recipients. Fcc, when set, also
// stores a copy (RFC 8580).
type Send struct {
	Kind    string // "vacation" or "notify"
	From    string
	To      []string
	Message []byte
	Fcc     *FileInto
	// Suppressed, when set, says why nothing is to be sent: a vacation
	// the script took that RFC 5230 §4.5–4.6 (or RFC 3834 §2) forbids
	// answering. It stays in the result, as the script's one vacation
	// action, but a caller sends nothing and files no Fcc; Message is
	// nil.
	Suppressed string
}

func (Keep) action()     {}
func (FileInto) action() {}
func (Redirect) action() {}
func (Reject) action()   {}
func (Discard) action()  {}
func (Send) action()     {}

// Script is a compiled script, safe for concurrent use by many Runs.
type Script struct {
	prog any // the compiled program (filled in by the compiler)
}
