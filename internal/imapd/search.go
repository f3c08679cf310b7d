package imapd

import (
	"errors"
	"strings"

	"facteur.dev/facteur/internal/imapd/search"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// SEARCH, SORT and THREAD are parsed, evaluated and answered by package
// search; this file gives it the selected view, the store's rows when
// the criteria need dates or sizes, and the store's text index for BODY,
// TEXT and the header keys. sort.go and thread.go register SORT and
// THREAD.

func init() {
	// RFC 4731, RFC 5182, RFC 5032; CONTEXT=SEARCH and CONTEXT=SORT in
	// context.go.
	extensions = append(extensions, "ESEARCH", "SEARCHRES", "WITHIN")
}

// search: SEARCH and UID SEARCH (RFC 9051 §6.4.4).
func (s *session) search(c *cmd) error { return s.runSearch(c, search.Search) }

// runSearch runs SEARCH, SORT or THREAD over the selected mailbox.
func (s *session) runSearch(c *cmd, kind search.Kind) error {
	var updateFetch []fetchItem // RFC 5465 §7 (notify.go)
	q, err := search.Parse(s.dec, kind, search.Options{Rev2: s.rev2, UpdateFetch: s.updateFetch(&updateFetch)})
	if errors.Is(err, search.ErrBadCharset) {
		return no(search.BadCharsetCode, "Supported charsets: UTF-8, US-ASCII")
	}
	if err != nil {
		return err
	}
	if err := s.dec.CRLF(); err != nil {
		return err
	}
	update := q.Return != nil && q.Return.Update
	if update {
		if err := s.checkUpdate(c.tag); err != nil {
			return err
		}
	}
	if q.UsesModSeq() || hasKind(updateFetch, itemModSeq) {
		s.enableCondstore() // RFC 7162 §3.1: MODSEQ in SEARCH, RFC 5465 §7
	}
	if err := s.refresh(c.uid); err != nil {
		return err
	}
	if s.sel == nil {
		return nil // the mailbox went away: BYE was sent
	}
	msgs, err := s.searchMsgs(q)
	if err != nil {
		return err
	}
	res, err := q.Run(msgs, search.Env{Text: s.textMatcher(msgs), Saved: s.saved})
	if err != nil {
		return err
	}
	if uids, ok := res.Save(); ok {
		s.saved = uids // emptied by SELECT, EXAMINE, CLOSE, UNSELECT (select.go, RFC 5182 §2.1)
	}
	s.enc.Bytes(res.Append(nil, c.tag, c.uid, s.rev2))
	if update {
		ls := s.register(c.tag, q, res)
		ls.fetch, ls.uid = updateFetch, c.uid
	}
	return nil
}

// searchMsgs describes the view's messages for package search, with the
// store's rows (and their parsed data) only when the criteria need them.
func (s *session) searchMsgs(q *search.Command) ([]search.Msg, error) {
	v := s.sel
	msgs := make([]search.Msg, len(v.uids))
	for i, uid := range v.uids {
		msgs[i] = search.Msg{Seq: uint32(i + 1), UID: uid, ModSeq: v.modseq[i], Flags: v.sets[v.flags[i]].flags,
			Recent: s.shownRecent(i)}
	}
	if !q.NeedsRow() && !q.NeedsParsed() {
		return msgs, nil
	}
	// The keys have no Headers, which EMAILID is derived from too.
	if ks, ok := s.srv.opts.Store.(store.KeySource); ok && q.NeedsParsed() && !q.UsesEmailID() {
		return s.keyedMsgs(ks, msgs, q.Kind == search.Thread || q.UsesSentDay())
	}
	rows, err := s.srv.opts.Store.Messages(s.ctx, v.mb.ID, q.NeedsParsed())
	if err != nil {
		return nil, err
	}
	for k := range rows {
		m := &rows[k]
		i, ok := v.index(m.UID)
		if !ok {
			continue
		}
		msgs[i].InternalDate, msgs[i].Size = m.InternalDate, m.Size
		msgs[i].SaveDate, msgs[i].Parsed, msgs[i].ThreadID = m.SaveDate, m.Parsed, m.ThreadID
		if q.UsesEmailID() {
			msgs[i].EmailID = emailID(m.BlobID, m.Headers)
		}
	}
	return msgs, nil
}

// keyedMsgs fills msgs from the store's SORT and THREAD keys, which are
// all that the parsed data is needed for, when EMAILID is not.
func (s *session) keyedMsgs(ks store.KeySource, msgs []search.Msg, full bool) ([]search.Msg, error) {
	keys, err := ks.MessageKeys(s.ctx, s.sel.mb.ID, full)
	if err != nil {
		return nil, err
	}
	for k := range keys {
		m := &keys[k]
		i, ok := s.sel.index(m.UID)
		if !ok {
			continue
		}
		msgs[i].InternalDate, msgs[i].Size = m.InternalDate, m.Size
		msgs[i].SaveDate, msgs[i].ThreadID = m.SaveDate, m.ThreadID
		msgs[i].Parsed = &message.Parsed{SentDate: m.SentDate, BaseSubject: m.BaseSubject,
			SubjectIsReply: m.SubjectIsReply, SortFrom: m.SortFrom, SortTo: m.SortTo, SortCc: m.SortCc,
			DisplayFrom: m.DisplayFrom, DisplayTo: m.DisplayTo, MessageID: m.MessageID,
			InReplyTo: m.InReplyTo, References: m.References}
	}
	return msgs, nil
}

// textMatcher answers text keys from the store's index, or, for a store
// without one, by parsing each message.
func (s *session) textMatcher(msgs []search.Msg) search.TextMatcher {
	mb := s.sel.mb.ID
	if ts, ok := s.srv.opts.Store.(store.TextSearch); ok {
		return func(f store.TextField, needle string) ([]uint32, error) {
			return ts.SearchText(s.ctx, mb, f, needle)
		}
	}
	return func(f store.TextField, needle string) ([]uint32, error) {
		return s.scanText(mb, msgs, f, needle)
	}
}

// scanText is text search without an index: every message is read.
func (s *session) scanText(mb int64, msgs []search.Msg, f store.TextField, needle string) ([]uint32, error) {
	uids := make([]uint32, len(msgs))
	for i := range msgs {
		uids[i] = msgs[i].UID
	}
	rows, err := s.srv.opts.Store.MessagesByUID(s.ctx, mb, uids, false)
	if err != nil {
		return nil, err
	}
	needle = search.Fold(needle)
	var out []uint32
	for _, m := range rows {
		blob, err := store.OpenMessage(s.ctx, s.srv.opts.Store.Blobs(), &m)
		if err != nil {
			return nil, err
		}
		p, err := message.Parse(blob)
		blob.Close()
		if err != nil {
			return nil, err
		}
		if textContains(p, f, needle) {
			out = append(out, m.UID)
		}
	}
	return out, nil
}

// textContains matches a folded needle as store.TextSearch does.
func textContains(p *message.Parsed, f store.TextField, needle string) bool {
	if name, ok := f.HeaderName(); ok {
		for _, h := range p.Headers {
			if strings.EqualFold(h.Name, name) && message.FieldContains(h.Name, h.Value, needle) {
				return true
			}
		}
		return false
	}
	switch f {
	case store.TextBody:
		return strings.Contains(search.Fold(p.BodyText()), needle)
	case store.TextHeaders:
		return strings.Contains(search.Fold(p.SearchHeaderText()), needle)
	}
	return strings.Contains(search.Fold(p.SearchHeaderText()), needle) || strings.Contains(search.Fold(p.BodyText()), needle)
}
