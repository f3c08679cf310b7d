package search

import (
	"strconv"
	"strings"
	"time"

	"facteur.dev/facteur/internal/imapd/imapwire"
)

// Op is the kind of a search key.
type Op int

// Search key kinds. Flag keys (ANSWERED, KEYWORD x …) are OpFlag; their UN-
// forms are OpNot of it. FROM, TO, CC, BCC and SUBJECT are OpHeader with
// the field name.
const (
	OpAll    Op = iota
	OpAnd       // every key in Keys; a parenthesised list and the top level
	OpOr        // Keys[0] or Keys[1]
	OpNot       // not Keys[0]
	OpSeq       // message sequence numbers in Set
	OpUID       // UIDs in Set
	OpFlag      // Flag set (system flag or keyword)
	OpRecent    // \Recent (IMAP4rev1)
	OpNew       // \Recent and not \Seen
	OpOld       // not \Recent
	OpBefore    // INTERNALDATE day < Date
	OpOn        // INTERNALDATE day = Date
	OpSince     // INTERNALDATE day ≥ Date
	OpSentBefore
	OpSentOn
	OpSentSince
	OpSavedBefore // RFC 8514
	OpSavedOn
	OpSavedSince
	OpSaveDateSupported
	OpOlder   // RFC 5032: INTERNALDATE more than Num seconds ago
	OpYounger // RFC 5032: INTERNALDATE at most Num seconds ago
	OpLarger  // RFC822.SIZE > Num
	OpSmaller // RFC822.SIZE < Num
	OpModSeq  // MODSEQ ≥ Num (RFC 7162 §3.1.5)
	OpHeader  // header field Field (lowercase) contains Value
	OpBody    // body text contains Value
	OpText    // header or body text contains Value
	OpEmailID // RFC 8474
	OpThreadID
)

// Key is a node of the search criteria.
type Key struct {
	Op    Op
	Keys  []*Key          // OpAnd, OpOr, OpNot
	Set   imapwire.SeqSet // OpSeq, OpUID; Set.Dollar for "$"
	Flag  string          // OpFlag
	Date  time.Time       // date keys: midnight UTC of the day
	Num   uint64          // sizes, seconds, MODSEQ
	Field string          // OpHeader: lowercase field name
	Value string          // text keys, EMAILID, THREADID
}

// Kind is the command being parsed.
type Kind int

// Commands this package handles.
const (
	Search Kind = iota
	Sort
	Thread
)

// SortKey is one SORT criterion (RFC 5256 §3, RFC 5957).
type SortKey struct {
	By      string // ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, DISPLAYFROM, DISPLAYTO
	Reverse bool
}

// ReturnOpts are the RETURN options of ESEARCH (RFC 4731) and ESORT
// (RFC 5267).
type ReturnOpts struct {
	Min, Max, All, Count, Save bool
	Partial                    *Partial // RFC 5267 §4.4, RFC 9394
	Context, Update            bool     // RFC 5267 §4.2–4.3: acted on by the session
}

// Partial is a PARTIAL range: 1-based positions in the result, First ≤
// Last; Negative counts from the end (-1 is the last).
type Partial struct {
	First, Last uint32
	Negative    bool
}

// Command is a parsed SEARCH, SORT or THREAD.
type Command struct {
	Kind    Kind
	Return  *ReturnOpts // nil without RETURN
	Charset string      // upper case; "" when absent
	Key     *Key        // an OpAnd of the top-level keys
	SortBy  []SortKey   // Sort
	Algo    string      // Thread: ORDEREDSUBJECT or REFERENCES
	modseq  bool        // MODSEQ appears in the criteria
	parsed  bool        // evaluation needs Msg.Parsed
	row     bool        // evaluation needs dates, sizes or object IDs
	sent    bool        // SENTBEFORE, SENTON or SENTSINCE appear
	email   bool        // EMAILID appears
}

// NeedsParsed reports whether Run needs Msg.Parsed filled: for SORT and
// THREAD keys and SENT* dates. (Text keys need it too when Env.Text is
// nil.)
func (c *Command) NeedsParsed() bool { return c.parsed }

// UsesSentDay reports whether the criteria compare the day of the Date
// header as written (SENTBEFORE, SENTON, SENTSINCE), for which
// Msg.Parsed.SentDate must keep the header's zone; SORT and THREAD only
// compare instants.
func (c *Command) UsesSentDay() bool { return c.sent }

// NeedsRow reports whether Run needs Msg.InternalDate, SaveDate, Size,
// EmailID or ThreadID: what a session's view of the mailbox may not hold.
func (c *Command) NeedsRow() bool { return c.row }

// UsesEmailID reports whether the criteria have EMAILID (RFC 8474 §6):
// only then does Run read Msg.EmailID.
func (c *Command) UsesEmailID() bool { return c.email }

// UsesModSeq reports whether the criteria have MODSEQ, which enables
// CONDSTORE (RFC 7162 §3.1) and adds the MODSEQ to the response.
func (c *Command) UsesModSeq() bool { return c.modseq }

// UsesDollar reports whether the criteria refer to the saved result "$".
func (c *Command) UsesDollar() bool { return usesDollar(c.Key) }

func usesDollar(k *Key) bool {
	if (k.Op == OpSeq || k.Op == OpUID) && k.Set.Dollar {
		return true
	}
	for _, c := range k.Keys {
		if usesDollar(c) {
			return true
		}
	}
	return false
}

var opNames = [...]string{
	OpAll: "ALL", OpAnd: "AND", OpOr: "OR", OpNot: "NOT", OpSeq: "SEQ", OpUID: "UID", OpFlag: "FLAG",
	OpRecent: "RECENT", OpNew: "NEW", OpOld: "OLD", OpBefore: "BEFORE", OpOn: "ON", OpSince: "SINCE",
	OpSentBefore: "SENTBEFORE", OpSentOn: "SENTON", OpSentSince: "SENTSINCE",
	OpSavedBefore: "SAVEDBEFORE", OpSavedOn: "SAVEDON", OpSavedSince: "SAVEDSINCE",
	OpSaveDateSupported: "SAVEDATESUPPORTED", OpOlder: "OLDER", OpYounger: "YOUNGER",
	OpLarger: "LARGER", OpSmaller: "SMALLER", OpModSeq: "MODSEQ", OpHeader: "HEADER",
	OpBody: "BODY", OpText: "TEXT", OpEmailID: "EMAILID", OpThreadID: "THREADID",
}

// String renders the key as an S-expression, for logs and tests.
func (k *Key) String() string {
	var b strings.Builder
	k.write(&b)
	return b.String()
}

func (k *Key) write(b *strings.Builder) {
	b.WriteString("(" + opNames[k.Op])
	switch k.Op {
	case OpSeq, OpUID:
		b.WriteString(" " + k.Set.String())
	case OpFlag:
		b.WriteString(" " + k.Flag)
	case OpBefore, OpOn, OpSince, OpSentBefore, OpSentOn, OpSentSince, OpSavedBefore, OpSavedOn, OpSavedSince:
		b.WriteString(" " + k.Date.Format("2006-01-02"))
	case OpOlder, OpYounger, OpLarger, OpSmaller, OpModSeq:
		b.WriteString(" " + strconv.FormatUint(k.Num, 10))
	case OpHeader:
		b.WriteString(" " + k.Field + " " + strconv.Quote(k.Value))
	case OpBody, OpText, OpEmailID, OpThreadID:
		b.WriteString(" " + strconv.Quote(k.Value))
	}
	for _, c := range k.Keys {
		b.WriteByte(' ')
		c.write(b)
	}
	b.WriteByte(')')
}
