package imapd

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"

	"facteur.dev/facteur/internal/imapd/fetch"
	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// itemKind is a FETCH data item (RFC 9051 §6.4.5).
type itemKind int

const (
	itemUID itemKind = iota
	itemFlags
	itemModSeq
	itemInternalDate
	itemSize
	itemEnvelope
	itemBody
	itemBodyStructure
	itemSection
	itemBinarySize
	itemPreview
	itemEmailID
	itemThreadID
	itemSaveDate
)

// fetchItem is one requested item. For sections, name is how the
// response names it ("BODY[TEXT]<0>", "RFC822").
type fetchItem struct {
	kind    itemKind
	section fetch.Section
	name    string
	peek    bool
}

// fetchCmd: FETCH and UID FETCH, RFC 9051 §6.4.5, §6.4.9, with
// CHANGEDSINCE (RFC 7162 §3.1.4) and VANISHED (RFC 7162 §3.2.6).
func (s *session) fetchCmd(c *cmd) error {
	set, items, since, vanished, err := s.fetchArgs(c)
	if err != nil {
		return err
	}
	if err := s.refresh(c.uid); err != nil {
		return err
	}
	v := s.sel
	idx, err := s.resolve(set, c.uid)
	if err != nil {
		return err
	}
	if since != nil {
		idx = slices.DeleteFunc(idx, func(i int) bool { return v.modseq[i] <= *since })
		if vanished {
			if err := s.vanishedEarlier(set, *since); err != nil {
				return err
			}
		}
	}
	if items, err = s.markSeen(idx, items); err != nil {
		return err
	}
	return s.writeFetches(idx, items)
}

// fetchArgs reads sequence-set SP items [SP modifiers] CRLF.
func (s *session) fetchArgs(c *cmd) (set imapwire.SeqSet, items []fetchItem, since *uint64, vanished bool, err error) {
	if err = s.dec.SP(); err != nil {
		return
	}
	if set, err = s.dec.SeqSet(); err != nil {
		return
	}
	if err = s.dec.SP(); err != nil {
		return
	}
	if items, err = s.fetchItems(); err != nil {
		return
	}
	if s.dec.Consume(' ') {
		err = s.dec.List(func() error {
			a, err := s.dec.Atom()
			if err != nil {
				return err
			}
			switch strings.ToUpper(a) {
			case "CHANGEDSINCE":
				if err := s.dec.SP(); err != nil {
					return err
				}
				n, err := s.dec.Number64()
				since = &n
				return err
			case "VANISHED":
				vanished = true
				return nil
			}
			return bad("Unknown FETCH modifier %s", a)
		})
		if err != nil {
			return
		}
	}
	if err = s.dec.CRLF(); err != nil {
		return
	}
	if vanished && (!c.uid || !s.qresync || since == nil) {
		err = bad("VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE") // RFC 7162 §3.2.6
		return
	}
	if c.uid && !hasKind(items, itemUID) {
		items = append([]fetchItem{{kind: itemUID}}, items...)
	}
	if since != nil && !hasKind(items, itemModSeq) {
		items = append(items, fetchItem{kind: itemModSeq})
	}
	if hasKind(items, itemModSeq) {
		s.enableCondstore() // RFC 7162 §3.1: a CONDSTORE enabling command
	}
	return
}

func hasKind(items []fetchItem, k itemKind) bool {
	return slices.ContainsFunc(items, func(it fetchItem) bool { return it.kind == k })
}

// fetchItems reads one item, a macro, or a parenthesised list.
func (s *session) fetchItems() ([]fetchItem, error) {
	if b, _ := s.dec.Peek(); b != '(' {
		return s.fetchItem()
	}
	var items []fetchItem
	err := s.dec.List(func() error {
		it, err := s.fetchItem()
		items = append(items, it...)
		return err
	})
	return items, err
}

var simpleItems = map[string]itemKind{
	"UID": itemUID, "FLAGS": itemFlags, "MODSEQ": itemModSeq, "INTERNALDATE": itemInternalDate,
	"RFC822.SIZE": itemSize, "ENVELOPE": itemEnvelope, "BODY": itemBody, "BODYSTRUCTURE": itemBodyStructure,
	"PREVIEW": itemPreview, "EMAILID": itemEmailID, "THREADID": itemThreadID, "SAVEDATE": itemSaveDate,
}

// macros: RFC 9051 §6.4.5 (ALL, FAST, FULL).
var macros = map[string][]itemKind{
	"ALL":  {itemFlags, itemInternalDate, itemSize, itemEnvelope},
	"FAST": {itemFlags, itemInternalDate, itemSize},
	"FULL": {itemFlags, itemInternalDate, itemSize, itemEnvelope, itemBody},
}

func (s *session) fetchItem() ([]fetchItem, error) {
	a, err := s.dec.Atom()
	if err != nil {
		return nil, err
	}
	up := strings.ToUpper(a)
	if i := strings.IndexByte(up, '['); i >= 0 {
		it, err := s.sectionItem(up[:i], a[i+1:])
		return []fetchItem{it}, err
	}
	if k, ok := simpleItems[up]; ok {
		if k == itemPreview && string(s.dec.PeekBytes(2)) == " (" {
			return []fetchItem{{kind: k}}, s.previewModifiers()
		}
		return []fetchItem{{kind: k}}, nil
	}
	if m, ok := macros[up]; ok {
		var out []fetchItem
		for _, k := range m {
			out = append(out, fetchItem{kind: k})
		}
		return out, nil
	}
	switch up { // RFC 9051 §6.4.5: the RFC822 forms of BODY[]
	case "RFC822":
		return []fetchItem{{kind: itemSection, name: up}}, nil
	case "RFC822.HEADER":
		return []fetchItem{{kind: itemSection, name: up, section: fetch.Section{Specifier: fetch.SpecHeader}, peek: true}}, nil
	case "RFC822.TEXT":
		return []fetchItem{{kind: itemSection, name: up, section: fetch.Section{Specifier: fetch.SpecText}}}, nil
	}
	return nil, bad("Unknown FETCH item %s", a)
}

// previewModifiers reads PREVIEW's " (LAZY)" (RFC 8970 §3). The preview
// is computed at delivery, so LAZY changes nothing.
func (s *session) previewModifiers() error {
	s.dec.SP()
	return s.dec.List(func() error {
		m, err := s.dec.Atom()
		if err == nil && !strings.EqualFold(m, "LAZY") {
			err = bad("Unknown PREVIEW modifier %s", m)
		}
		return err
	})
}

// sectionItem reads the rest of BODY[...]<partial>, BODY.PEEK, BINARY,
// BINARY.PEEK or BINARY.SIZE after the atom up to "[" and what followed.
func (s *session) sectionItem(base, spec string) (fetchItem, error) {
	if s.dec.Consume(' ') { // HEADER.FIELDS (name ...)
		var fields []string
		err := s.dec.List(func() error {
			f, err := s.dec.AString()
			fields = append(fields, strconv.Quote(f))
			return err
		})
		if err != nil {
			return fetchItem{}, err
		}
		spec += " (" + strings.Join(fields, " ") + ")"
	}
	if !s.dec.Consume(']') {
		return fetchItem{}, bad("Expected ] in FETCH section")
	}
	partial := ""
	if b, _ := s.dec.Peek(); b == '<' {
		var err error
		if partial, err = s.dec.Atom(); err != nil {
			return fetchItem{}, err
		}
	}
	it := fetchItem{kind: itemSection, peek: strings.HasSuffix(base, ".PEEK")}
	var err error
	switch base {
	case "BODY", "BODY.PEEK":
		it.section, err = fetch.ParseSection(spec, partial)
	case "BINARY", "BINARY.PEEK":
		it.section, err = fetch.ParseBinarySection(spec, partial)
	case "BINARY.SIZE":
		it.kind = itemBinarySize
		if partial != "" {
			return it, bad("BINARY.SIZE takes no partial")
		}
		it.section, err = fetch.ParseBinarySection(spec, "")
	default:
		return it, bad("Unknown FETCH item %s[", base)
	}
	if err != nil {
		return it, bad("%v", err)
	}
	it.name = it.section.Name()
	if it.kind == itemBinarySize {
		it.name = it.section.SizeName()
	}
	return it, nil
}

// vanishedEarlier sends the UIDs of set expunged after since (RFC 7162
// §3.2.6).
func (s *session) vanishedEarlier(set imapwire.SeqSet, since uint64) error {
	v := s.sel
	gone, err := s.srv.opts.Store.Vanished(s.ctx, v.mb.ID, since)
	if err != nil {
		return err
	}
	last := max(v.lastUID(), v.mb.UIDNext)
	gone = slices.DeleteFunc(gone, func(u uint32) bool { return !set.Contains(u, last) })
	if len(gone) > 0 {
		s.untagged("VANISHED (EARLIER) " + imapwire.SeqSetOf(gone).String())
	}
	return nil
}

// markSeen sets \Seen on the messages whose body a non-PEEK item returns
// (RFC 9051 §6.4.5), and then adds FLAGS to the items so the client
// learns it.
func (s *session) markSeen(idx []int, items []fetchItem) ([]fetchItem, error) {
	v := s.sel
	sets := slices.ContainsFunc(items, func(it fetchItem) bool { return it.kind == itemSection && !it.peek })
	if !sets || v.readOnly {
		return items, nil
	}
	var unseen []uint32
	for _, i := range idx {
		if !v.has(i, `\Seen`) && !v.gone[v.uids[i]] {
			unseen = append(unseen, v.uids[i])
		}
	}
	if len(unseen) == 0 {
		return items, nil
	}
	if _, err := s.srv.opts.Store.SetFlags(s.ctx, v.mb.ID, unseen, []string{`\Seen`}, 1); err != nil {
		return nil, err
	}
	v.dirty = true
	if err := s.sync(); err != nil {
		return nil, err
	}
	for _, u := range unseen {
		delete(v.changed, u)
	}
	if !hasKind(items, itemFlags) {
		items = append(items, fetchItem{kind: itemFlags})
	}
	return items, nil
}

// needs tells what the items need beyond the view.
func needs(items []fetchItem) (row, parsed bool) {
	for _, it := range items {
		switch it.kind {
		case itemUID, itemFlags, itemModSeq:
		case itemInternalDate, itemSize, itemEmailID, itemThreadID, itemSaveDate:
			row = true
		default:
			row, parsed = true, true
		}
	}
	return row, parsed
}

// fetchBatch bounds the messages (and parsed structures) read at once;
// blobBatch the blobs opened at once (small ones are read into memory).
const (
	fetchBatch = 256
	blobBatch  = 32
)

// fetched is a message of the view with its stored row.
type fetched struct {
	i int
	m *store.Message
}

// writeFetches sends one FETCH response per message. Items the view holds
// (UID, FLAGS, MODSEQ) need no store access; others read the messages in
// batches, and sections stream from blobs opened a batch at a time.
func (s *session) writeFetches(idx []int, items []fetchItem) error {
	row, parsed := needs(items)
	if !row {
		for _, i := range idx {
			s.writeFetch(i, nil, items, nil)
		}
		return s.enc.Err()
	}
	blobs := slices.ContainsFunc(items, func(it fetchItem) bool { return it.kind == itemSection || it.kind == itemBinarySize })
	for start := 0; start < len(idx); start += fetchBatch {
		batch, err := s.readRows(idx[start:min(start+fetchBatch, len(idx))], parsed)
		if err != nil {
			return err
		}
		step := len(batch)
		if blobs {
			step = blobBatch
		}
		for b := 0; b < len(batch); b += step {
			if err := s.writeBatch(batch[b:min(b+step, len(batch))], items, blobs); err != nil {
				return err
			}
		}
	}
	return nil
}

// readRows reads the stored rows of view indexes; messages expunged
// meanwhile are left out: nothing is sent for them (RFC 9051 §7.5.2).
func (s *session) readRows(chunk []int, parsed bool) ([]fetched, error) {
	v := s.sel
	msgs, err := s.srv.opts.Store.MessagesByUID(s.ctx, v.mb.ID, v.uidsOf(chunk), parsed)
	if err != nil {
		return nil, err
	}
	out := make([]fetched, 0, len(msgs))
	k := 0
	for _, i := range chunk {
		for k < len(msgs) && msgs[k].UID < v.uids[i] {
			k++
		}
		if k < len(msgs) && msgs[k].UID == v.uids[i] {
			out = append(out, fetched{i, &msgs[k]})
		}
	}
	return out, nil
}

// writeBatch writes the responses of a batch, with their messages' bytes
// opened together (store.OpenMessages) when the items need them.
func (s *session) writeBatch(batch []fetched, items []fetchItem, withBlobs bool) error {
	blobs := make([]store.Blob, len(batch))
	if withBlobs {
		msgs := make([]*store.Message, len(batch))
		for k, f := range batch {
			msgs[k] = f.m
		}
		var err error
		if blobs, err = store.OpenMessages(s.ctx, s.srv.opts.Store.Blobs(), msgs); err != nil {
			return err
		}
		defer func() {
			for _, b := range blobs {
				b.Close()
			}
		}()
	}
	for k, f := range batch {
		if err := s.writeFetch(f.i, f.m, items, blobs[k]); err != nil {
			return err
		}
	}
	return nil
}

// writeFetch writes "* n FETCH (...)" for message i of the view; m is
// the stored message when the items need it, blob its bytes when they
// need those.
func (s *session) writeFetch(i int, m *store.Message, items []fetchItem, blob store.Blob) error {
	v := s.sel
	if hasKind(items, itemFlags) {
		s.announce(i) // before the FETCH: a literal may flush part of it
	}
	b := make([]byte, 0, 128)
	b = append(b, "* "...)
	b = strconv.AppendInt(b, int64(i+1), 10)
	b = append(b, " FETCH ("...)
	for k, it := range items {
		if k > 0 {
			b = append(b, ' ')
		}
		switch it.kind {
		case itemUID:
			b = append(b, "UID "...)
			b = strconv.AppendUint(b, uint64(v.uids[i]), 10)
		case itemFlags:
			b = append(b, "FLAGS "...)
			b = s.appendFlags(b, i)
		case itemModSeq:
			b = append(b, "MODSEQ ("...)
			b = strconv.AppendUint(b, v.modseq[i], 10)
			b = append(b, ')')
		case itemSection, itemBinarySize:
			var err error
			if b, err = s.writeSection(b, it, m, blob); err != nil {
				return err
			}
		default:
			b = s.appendItem(b, it, m)
		}
	}
	b = append(b, ")\r\n"...)
	s.enc.Bytes(b)
	return s.enc.Err()
}

// appendItem appends items computed from the stored message row.
func (s *session) appendItem(b []byte, it fetchItem, m *store.Message) []byte {
	utf8 := s.utf8Mode()
	switch it.kind {
	case itemInternalDate:
		b = append(b, `INTERNALDATE "`...)
		b = m.InternalDate.AppendFormat(b, "_2-Jan-2006 15:04:05 -0700")
		b = append(b, '"')
	case itemSaveDate: // RFC 8514 §4
		b = append(b, `SAVEDATE "`...)
		b = m.SaveDate.AppendFormat(b, "_2-Jan-2006 15:04:05 -0700")
		b = append(b, '"')
	case itemSize:
		b = append(b, "RFC822.SIZE "...)
		b = strconv.AppendInt(b, m.Size, 10)
	case itemEmailID:
		b = append(b, "EMAILID ("...)
		b = appendEmailID(b, m.BlobID, m.Headers)
		b = append(b, ')')
	case itemThreadID: // RFC 8474 §5.2: NIL for a message stored before threads were kept
		if m.ThreadID == "" {
			b = append(b, "THREADID NIL"...)
		} else {
			b = append(append(append(b, "THREADID ("...), m.ThreadID...), ')')
		}
	case itemEnvelope:
		b = append(b, "ENVELOPE "...)
		b = fetch.AppendEnvelope(b, &parsedOf(m).Envelope, utf8)
	case itemBody, itemBodyStructure:
		if it.kind == itemBody {
			b = append(b, "BODY "...)
		} else {
			b = append(b, "BODYSTRUCTURE "...)
		}
		b = fetch.AppendBodyStructure(b, parsedOf(m).Body, it.kind == itemBodyStructure, utf8)
	case itemPreview: // RFC 8970 §3
		b = append(b, "PREVIEW "...)
		b = appendIMAPString(b, parsedOf(m).Preview, utf8)
	}
	return b
}

// writeSection writes BODY[...]/BINARY[...] (a literal streamed from the
// blob) or BINARY.SIZE. Bytes already built in b are sent first.
func (s *session) writeSection(b []byte, it fetchItem, m *store.Message, blob store.Blob) ([]byte, error) {
	p := parsedOf(m)
	if it.kind == itemBinarySize {
		n, err := fetch.BinarySize(blob, m.Size, p, it.section.Path)
		if err != nil {
			return b, sectionError(err)
		}
		b = append(b, it.name...)
		b = append(b, ' ')
		return strconv.AppendInt(b, n, 10), nil
	}
	r, n, err := fetch.Extract(blob, m.Size, p, it.section)
	if err != nil {
		return b, sectionError(err)
	}
	b = append(b, it.name...)
	b = append(b, ' ')
	s.enc.Bytes(b)
	if err := s.enc.Literal(n, r, it.section.Binary); err != nil {
		return nil, errConnBroken
	}
	return b[:0], nil
}

// errConnBroken: a response was cut in the middle; the session must end.
var errConnBroken = errors.New("imapd: response interrupted")

func sectionError(err error) error {
	switch {
	case errors.Is(err, fetch.ErrUnknownCTE):
		return no("UNKNOWN-CTE", "Unknown Content-Transfer-Encoding") // RFC 3516 §4.3
	case errors.Is(err, fetch.ErrSyntax), errors.Is(err, fetch.ErrNotMessage):
		return bad("%v", err)
	}
	return err
}

// emptyParsed stands for a message stored without its parsed structure.
var emptyParsed, _ = message.Parse(strings.NewReader(""))

// parsedOf returns the message's parsed structure, or that of an empty
// message when none was stored.
func parsedOf(m *store.Message) *message.Parsed {
	if m.Parsed == nil || m.Parsed.Body == nil {
		return emptyParsed
	}
	return m.Parsed
}

// appendEmailID appends the EMAILID (RFC 8474 §5.1), from the message's
// content: its blob and, when it has any, the header lines before it.
// Copies of a message (COPY, MOVE) share both, so they share the ID, as
// the RFC recommends; copies of one blob with different added fields are
// different messages. It is "M" and 24 letters or digits either way
// (RFC 8474 §7, objectid).
func appendEmailID(b []byte, blobID, headers string) []byte {
	if headers != "" {
		blobID = contentID(blobID, headers)
	}
	b = append(b, 'M')
	for i, n := 0, 0; i < len(blobID) && n < 24; i++ {
		if c := blobID[i]; c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			b = append(b, c)
			n++
		}
	}
	return b
}

// emailID is appendEmailID as a string.
func emailID(blobID, headers string) string {
	return string(appendEmailID(make([]byte, 0, 25), blobID, headers))
}

// contentID names a blob with header lines before it: a SHA-256 in hex,
// as a blob ID is.
func contentID(blobID, headers string) string {
	h := sha256.New()
	h.Write([]byte(blobID))
	h.Write([]byte{0})
	h.Write([]byte(headers))
	return hex.EncodeToString(h.Sum(nil))
}

// appendIMAPString appends s as a quoted string, or as a literal when it
// cannot be quoted.
func appendIMAPString(b []byte, s string, utf8 bool) []byte {
	quotable := len(s) < 1000
	for i := 0; i < len(s) && quotable; i++ {
		c := s[i]
		quotable = c != 0 && c != '\r' && c != '\n' && (c < 0x80 || utf8)
	}
	if !quotable {
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, "}\r\n"...)
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
