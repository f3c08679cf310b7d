package search

import (
	"slices"
	"strings"
	"time"

	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// Msg is what evaluation needs of one message. Run takes them in mailbox
// (sequence number) order.
type Msg struct {
	Seq, UID     uint32
	Flags        []string // system flags and keywords, as stored
	Recent       bool     // \Recent in this session (IMAP4rev1)
	ModSeq       uint64
	InternalDate time.Time
	SaveDate     time.Time // zero when unknown (RFC 8514)
	Size         int64
	EmailID      string // RFC 8474
	ThreadID     string
	// Parsed gives the SORT and THREAD keys, the sent date and, when
	// Env.Text is nil, the text for text keys. It may be nil: those keys
	// then see an empty message.
	Parsed *message.Parsed
}

// TextMatcher returns the UIDs of the mailbox whose text in field contains
// needle, case-insensitively; store.TextSearch provides one.
type TextMatcher func(field store.TextField, needle string) ([]uint32, error)

// Env is what evaluation needs beyond the messages.
type Env struct {
	Text  TextMatcher // nil: text keys are evaluated on Msg.Parsed
	Saved []uint32    // the UIDs saved by SEARCH RETURN (SAVE), for "$"
	Now   time.Time   // for OLDER and YOUNGER; zero means time.Now()
}

// evaluator holds what one Run precomputes.
type evaluator struct {
	env    Env
	maxSeq uint32
	maxUID uint32
	text   map[*Key]map[uint32]bool // text key → matching UIDs
}

// match returns the messages that satisfy c's criteria, in sequence order.
func (c *Command) match(msgs []Msg, env Env) ([]*Msg, error) {
	if env.Now.IsZero() {
		env.Now = time.Now()
	}
	e := &evaluator{env: env, maxSeq: uint32(len(msgs)), text: map[*Key]map[uint32]bool{}}
	if len(msgs) > 0 {
		e.maxUID = msgs[len(msgs)-1].UID
	}
	if env.Text != nil && len(msgs) > 0 {
		if err := e.lookupText(c.Key); err != nil {
			return nil, err
		}
	}
	var out []*Msg
	for i := range msgs {
		if e.eval(c.Key, &msgs[i]) {
			out = append(out, &msgs[i])
		}
	}
	return out, nil
}

// lookupText asks Env.Text once for each text key of the tree.
func (e *evaluator) lookupText(k *Key) error {
	for _, c := range k.Keys {
		if err := e.lookupText(c); err != nil {
			return err
		}
	}
	var field store.TextField
	switch k.Op {
	case OpBody:
		field = store.TextBody
	case OpText:
		field = store.TextAll
	case OpHeader:
		field = store.TextHeader(k.Field)
	default:
		return nil
	}
	uids, err := e.env.Text(field, k.Value)
	if err != nil {
		return err
	}
	set := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		set[u] = true
	}
	e.text[k] = set
	return nil
}

func (e *evaluator) eval(k *Key, m *Msg) bool {
	switch k.Op {
	case OpAll:
		return true
	case OpAnd:
		for _, c := range k.Keys {
			if !e.eval(c, m) {
				return false
			}
		}
		return true
	case OpOr:
		return e.eval(k.Keys[0], m) || e.eval(k.Keys[1], m)
	case OpNot:
		return !e.eval(k.Keys[0], m)
	case OpSeq:
		if k.Set.Dollar {
			return slices.Contains(e.env.Saved, m.UID)
		}
		return k.Set.Contains(m.Seq, e.maxSeq)
	case OpUID:
		if k.Set.Dollar {
			return slices.Contains(e.env.Saved, m.UID)
		}
		return k.Set.Contains(m.UID, e.maxUID)
	case OpFlag:
		return hasFlag(m.Flags, k.Flag)
	case OpRecent:
		return m.Recent
	case OpNew:
		return m.Recent && !hasFlag(m.Flags, `\Seen`)
	case OpOld:
		return !m.Recent
	case OpBody, OpText, OpHeader:
		return e.evalText(k, m)
	}
	return e.evalValue(k, m)
}

// evalValue evaluates the keys that compare one value of the message.
func (e *evaluator) evalValue(k *Key, m *Msg) bool {
	switch k.Op {
	case OpBefore, OpOn, OpSince:
		return cmpDay(k.Op-OpBefore, m.InternalDate, k.Date)
	case OpSentBefore, OpSentOn, OpSentSince:
		if m.Parsed == nil || m.Parsed.SentDate.IsZero() {
			return false
		}
		return cmpDay(k.Op-OpSentBefore, m.Parsed.SentDate, k.Date)
	case OpSavedBefore, OpSavedOn, OpSavedSince:
		return !m.SaveDate.IsZero() && cmpDay(k.Op-OpSavedBefore, m.SaveDate, k.Date)
	case OpSaveDateSupported:
		return !m.SaveDate.IsZero()
	case OpOlder:
		return e.env.Now.Sub(m.InternalDate) > time.Duration(k.Num)*time.Second
	case OpYounger:
		return e.env.Now.Sub(m.InternalDate) <= time.Duration(k.Num)*time.Second
	case OpLarger:
		return m.Size >= 0 && uint64(m.Size) > k.Num
	case OpSmaller:
		return m.Size >= 0 && uint64(m.Size) < k.Num
	case OpModSeq:
		return m.ModSeq >= k.Num
	case OpEmailID:
		return m.EmailID != "" && m.EmailID == k.Value
	case OpThreadID:
		return m.ThreadID != "" && m.ThreadID == k.Value
	}
	return false
}

// cmpDay compares the calendar day of t (in its own zone) with day:
// rel 0 is before, 1 on, 2 since.
func cmpDay(rel Op, t, day time.Time) bool {
	y, mo, d := t.Date()
	td := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	switch rel {
	case 0:
		return td.Before(day)
	case 1:
		return td.Equal(day)
	default:
		return !td.Before(day)
	}
}

// hasFlag compares system flags case-insensitively, keywords too (RFC
// 9051 §2.3.2 makes flag names case-insensitive).
func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}

// evalText answers a text key from the matcher's results, or from
// m.Parsed without a matcher.
func (e *evaluator) evalText(k *Key, m *Msg) bool {
	if set, ok := e.text[k]; ok {
		return set[m.UID]
	}
	if e.env.Text != nil { // no messages were looked up
		return false
	}
	p := m.Parsed
	if p == nil {
		p = &message.Parsed{}
	}
	needle := Fold(k.Value)
	switch k.Op {
	case OpBody:
		return strings.Contains(Fold(p.BodyText()), needle)
	case OpText:
		return strings.Contains(Fold(p.SearchHeaderText()), needle) || strings.Contains(Fold(p.BodyText()), needle)
	}
	for _, h := range p.Headers {
		if strings.EqualFold(h.Name, k.Field) && message.FieldContains(h.Name, h.Value, needle) {
			return true
		}
	}
	return false
}

// Fold is the case folding of text search: Unicode lower case.
func Fold(s string) string { return strings.ToLower(s) }
