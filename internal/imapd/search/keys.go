package search

import "strings"

// flagKeys are the keys that test a system flag, with their UN- forms.
var flagKeys = map[string]struct {
	flag string
	not  bool
}{
	"ANSWERED": {`\Answered`, false}, "UNANSWERED": {`\Answered`, true},
	"DELETED": {`\Deleted`, false}, "UNDELETED": {`\Deleted`, true},
	"DRAFT": {`\Draft`, false}, "UNDRAFT": {`\Draft`, true},
	"FLAGGED": {`\Flagged`, false}, "UNFLAGGED": {`\Flagged`, true},
	"SEEN": {`\Seen`, false}, "UNSEEN": {`\Seen`, true},
}

// simpleKeys take no argument.
var simpleKeys = map[string]Op{
	"ALL": OpAll, "NEW": OpNew, "OLD": OpOld, "RECENT": OpRecent,
	"SAVEDATESUPPORTED": OpSaveDateSupported,
}

// dateKeys take a date.
var dateKeys = map[string]Op{
	"BEFORE": OpBefore, "ON": OpOn, "SINCE": OpSince,
	"SENTBEFORE": OpSentBefore, "SENTON": OpSentOn, "SENTSINCE": OpSentSince,
	"SAVEDBEFORE": OpSavedBefore, "SAVEDON": OpSavedOn, "SAVEDSINCE": OpSavedSince,
}

// headerKeys are the header fields with a key of their own.
var headerKeys = map[string]string{"FROM": "from", "TO": "to", "CC": "cc", "BCC": "bcc", "SUBJECT": "subject"}

// key reads one search-key. first, if not empty, is its atom, already read.
func (p *parser) key(depth int, first string) (*Key, error) {
	if depth > maxDepth {
		return nil, syntax("search keys nested too deeply")
	}
	if first == "" {
		b, err := p.d.Peek()
		if err != nil {
			return nil, err
		}
		switch {
		case b == '(':
			return p.list(depth)
		case b == '*' || b == '$' || '1' <= b && b <= '9':
			set, err := p.d.SeqSet()
			return &Key{Op: OpSeq, Set: set}, err
		}
		if first, err = p.d.Atom(); err != nil {
			return nil, err
		}
	}
	return p.atomKey(depth, strings.ToUpper(first))
}

// list reads "(" search-key *(SP search-key) ")".
func (p *parser) list(depth int) (*Key, error) {
	k := &Key{Op: OpAnd}
	err := p.d.List(func() error {
		c, err := p.key(depth+1, "")
		if err == nil {
			k.Keys = append(k.Keys, c)
		}
		return err
	})
	if err == nil && len(k.Keys) == 0 {
		err = syntax("empty search key list")
	}
	return k, err
}

// atomKey reads the arguments of the key named a (upper case).
func (p *parser) atomKey(depth int, a string) (*Key, error) {
	if f, ok := flagKeys[a]; ok {
		return flagKey(f.flag, f.not), nil
	}
	if op, ok := simpleKeys[a]; ok {
		p.row = p.row || op == OpSaveDateSupported
		return &Key{Op: op}, nil
	}
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	if op, ok := dateKeys[a]; ok {
		date, err := p.d.Date()
		p.row = true
		p.parsed = p.parsed || op == OpSentBefore || op == OpSentOn || op == OpSentSince
		return &Key{Op: op, Date: date}, err
	}
	if field, ok := headerKeys[a]; ok {
		v, err := p.d.AString()
		return &Key{Op: OpHeader, Field: field, Value: v}, err
	}
	switch a {
	case "BODY", "TEXT":
		v, err := p.d.AString()
		op := OpBody
		if a == "TEXT" {
			op = OpText
		}
		return &Key{Op: op, Value: v}, err
	case "HEADER":
		name, err := p.d.AString()
		if err != nil {
			return nil, err
		}
		if err := p.d.SP(); err != nil {
			return nil, err
		}
		v, err := p.d.AString()
		return &Key{Op: OpHeader, Field: strings.ToLower(name), Value: v}, err
	case "KEYWORD", "UNKEYWORD":
		f, err := p.d.Flag()
		return flagKey(f, a == "UNKEYWORD"), err
	case "LARGER", "SMALLER":
		p.row = true
		n, err := p.d.Number64()
		op := OpLarger
		if a == "SMALLER" {
			op = OpSmaller
		}
		return &Key{Op: op, Num: n}, err
	case "OLDER", "YOUNGER":
		p.row = true
		n, err := p.d.NZNumber()
		op := OpOlder
		if a == "YOUNGER" {
			op = OpYounger
		}
		return &Key{Op: op, Num: uint64(n)}, err
	case "UID":
		set, err := p.d.SeqSet()
		return &Key{Op: OpUID, Set: set}, err
	case "NOT":
		k, err := p.key(depth+1, "")
		return &Key{Op: OpNot, Keys: []*Key{k}}, err
	case "OR":
		return p.or(depth)
	case "MODSEQ":
		return p.modSeq()
	case "EMAILID", "THREADID":
		p.row = true
		p.email = p.email || a == "EMAILID"
		return p.objectID(a)
	}
	return nil, syntax("unknown search key %q", a)
}

func flagKey(flag string, not bool) *Key {
	k := &Key{Op: OpFlag, Flag: flag}
	if not {
		return &Key{Op: OpNot, Keys: []*Key{k}}
	}
	return k
}

func (p *parser) or(depth int) (*Key, error) {
	a, err := p.key(depth+1, "")
	if err != nil {
		return nil, err
	}
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	b, err := p.key(depth+1, "")
	return &Key{Op: OpOr, Keys: []*Key{a, b}}, err
}

// modSeq reads [entry-name SP entry-type-req SP] mod-sequence-valzer
// (RFC 7162 §7). The entry is accepted and ignored: per-flag MODSEQs are
// not kept, so the message's MODSEQ answers for all of them (§3.1.5).
func (p *parser) modSeq() (*Key, error) {
	p.modseq = true
	if b, err := p.d.Peek(); err == nil && b == '"' {
		name, err := p.d.Quoted()
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(strings.ToLower(name), "/flags/") {
			return nil, syntax("bad MODSEQ entry name %q", name)
		}
		if err := p.d.SP(); err != nil {
			return nil, err
		}
		typ, err := p.d.Atom()
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(typ) {
		case "priv", "shared", "all":
		default:
			return nil, syntax("bad MODSEQ entry type %q", typ)
		}
		if err := p.d.SP(); err != nil {
			return nil, err
		}
	}
	n, err := p.d.Number64()
	return &Key{Op: OpModSeq, Num: n}, err
}

// objectID reads an objectid (RFC 8474 §7): 1*255(ALPHA / DIGIT / "_" / "-").
func (p *parser) objectID(a string) (*Key, error) {
	v, err := p.d.Atom()
	if err != nil {
		return nil, err
	}
	if len(v) > 255 || strings.IndexFunc(v, func(r rune) bool {
		return !(r < 128 && (isLetter(byte(r)) || '0' <= r && r <= '9' || r == '_' || r == '-'))
	}) >= 0 {
		return nil, syntax("bad object id %q", v)
	}
	op := OpEmailID
	if a == "THREADID" {
		op = OpThreadID
	}
	return &Key{Op: op, Value: v}, nil
}
