package search

import (
	"slices"
	"strconv"

	"facteur.dev/facteur/internal/imapd/imapwire"
)

// Result is the outcome of Run, ready to be written by Append.
type Result struct {
	cmd     *Command
	matches []*Msg    // sequence order (SEARCH) or sort order (SORT)
	threads []*thread // THREAD
}

// Run evaluates the command over msgs, which must be the whole mailbox in
// sequence order. Its only error is one from env.Text.
func (c *Command) Run(msgs []Msg, env Env) (*Result, error) {
	matches, err := c.match(msgs, env)
	if err != nil {
		return nil, err
	}
	r := &Result{cmd: c, matches: matches}
	switch c.Kind {
	case Sort:
		sortMsgs(matches, c.SortBy)
	case Thread:
		if c.Algo == "REFERENCES" {
			r.threads = threadReferences(matches)
		} else {
			r.threads = threadOrderedSubject(matches)
		}
	}
	return r, nil
}

// Seqs returns the sequence numbers of the matches, in result order.
func (r *Result) Seqs() []uint32 { return numbers(r.matches, false) }

// UIDs returns the UIDs of the matches, in result order.
func (r *Result) UIDs() []uint32 { return numbers(r.matches, true) }

func numbers(ms []*Msg, uid bool) []uint32 {
	out := make([]uint32, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
		if uid {
			out[i] = m.UID
		}
	}
	return out
}

// Save returns the UIDs that RETURN (SAVE) asks the session to keep as
// "$" (RFC 5182 §2.4): the matches, or only the MIN and/or MAX ones when
// those are the only other options. ok is false without SAVE.
func (r *Result) Save() (uids []uint32, ok bool) {
	ret := r.cmd.Return
	if ret == nil || !ret.Save {
		return nil, false
	}
	ms := r.matches
	if (ret.Min || ret.Max) && !ret.All && !ret.Count && ret.Partial == nil && len(ms) > 0 {
		var sel []*Msg
		if ret.Min {
			sel = append(sel, r.minMsg())
		}
		if ret.Max && (!ret.Min || len(ms) > 1) {
			sel = append(sel, r.maxMsg())
		}
		ms = sel
	}
	uids = numbers(ms, true)
	slices.Sort(uids)
	return slices.Compact(uids), true
}

// minMsg and maxMsg are the first and last matches: the lowest and
// highest numbers for SEARCH, the first and last in sort order for SORT
// (RFC 5267 §3.2).
func (r *Result) minMsg() *Msg { return r.matches[0] }
func (r *Result) maxMsg() *Msg { return r.matches[len(r.matches)-1] }

// Append writes the untagged response: "* SEARCH", "* SORT", "* THREAD",
// or "* ESEARCH" for a command with RETURN and, in IMAP4rev2, for every
// SEARCH (RFC 9051 §6.4.4). It writes nothing for RETURN (SAVE) alone
// (RFC 5182 §2.4). uid says the command was UID SEARCH/SORT/THREAD: the
// numbers are UIDs.
func (r *Result) Append(b []byte, tag string, uid, rev2 bool) []byte {
	c := r.cmd
	switch {
	case c.Kind == Thread:
		b = append(b, "* THREAD"...) // RFC 5256 §4: "THREAD" [SP 1*thread-list]
		for i, t := range r.threads {
			if i == 0 {
				b = append(b, ' ')
			}
			b = t.append(b, uid)
		}
		return append(b, "\r\n"...)
	case c.Return != nil || (c.Kind == Search && rev2):
		return r.appendESearch(b, tag, uid)
	}
	if c.Kind == Sort {
		b = append(b, "* SORT"...)
	} else {
		b = append(b, "* SEARCH"...)
	}
	for _, m := range r.matches {
		b = append(b, ' ')
		b = appendNum(b, m, uid)
	}
	if c.modseq && len(r.matches) > 0 {
		b = appendModSeq(append(b, " (MODSEQ "...), r.matches)
		b = append(b, ')')
	}
	return append(b, "\r\n"...)
}

func appendNum(b []byte, m *Msg, uid bool) []byte {
	if uid {
		return strconv.AppendUint(b, uint64(m.UID), 10)
	}
	return strconv.AppendUint(b, uint64(m.Seq), 10)
}

// appendModSeq writes the highest MODSEQ of ms (RFC 7162 §3.1.5).
func appendModSeq(b []byte, ms []*Msg) []byte {
	var top uint64
	for _, m := range ms {
		top = max(top, m.ModSeq)
	}
	return strconv.AppendUint(b, top, 10)
}

// appendESearch writes "* ESEARCH (TAG "x") [UID] data" (RFC 4731 §3.1,
// RFC 5267 §3.2 and §4.4).
func (r *Result) appendESearch(b []byte, tag string, uid bool) []byte {
	ret := r.cmd.Return
	if ret == nil {
		ret = &ReturnOpts{All: true}
	}
	if ret.Save && !ret.Min && !ret.Max && !ret.All && !ret.Count && ret.Partial == nil {
		return b
	}
	b = append(b, `* ESEARCH (TAG `...)
	b = appendQuoted(b, tag)
	b = append(b, ')')
	if uid {
		b = append(b, " UID"...)
	}
	ms := r.matches
	var shown []*Msg // the messages the response names, for MODSEQ
	if len(ms) > 0 && ret.Min {
		b = appendNum(append(b, " MIN "...), r.minMsg(), uid)
		shown = append(shown, r.minMsg())
	}
	if len(ms) > 0 && ret.Max {
		b = appendNum(append(b, " MAX "...), r.maxMsg(), uid)
		shown = append(shown, r.maxMsg())
	}
	if len(ms) > 0 && ret.All {
		b = append(b, " ALL "...)
		b = r.appendSet(b, ms, uid)
		shown = ms
	}
	if ret.Count {
		b = strconv.AppendInt(append(b, " COUNT "...), int64(len(ms)), 10)
		shown = ms
	}
	if p := ret.Partial; p != nil {
		part := partialSlice(ms, p)
		b = append(b, " PARTIAL ("...)
		b = p.append(b)
		b = append(b, ' ')
		if len(part) == 0 {
			b = append(b, "NIL"...)
		} else {
			b = r.appendSet(b, part, uid)
		}
		b = append(b, ')')
		if len(shown) == 0 {
			shown = part
		}
	}
	if r.cmd.modseq && len(shown) > 0 {
		b = appendModSeq(append(b, " MODSEQ "...), shown)
	}
	return append(b, "\r\n"...)
}

// appendSet writes numbers as a sequence set, with ascending runs as
// ranges: sorted for SEARCH, in result order for SORT (RFC 5267 §3.2;
// Dovecot compresses ESORT's "ALL 1:5" and "PARTIAL (2:4 3:4,2)" too).
func (r *Result) appendSet(b []byte, ms []*Msg, uid bool) []byte {
	nums := numbers(ms, uid)
	if r.cmd.Kind != Sort {
		slices.Sort(nums)
	}
	return imapwire.AppendSeqList(b, nums)
}

// partialSlice returns the part of ms that a PARTIAL range selects.
func partialSlice(ms []*Msg, p *Partial) []*Msg {
	n := uint64(len(ms))
	lo, hi := uint64(p.First), uint64(p.Last) // 1-based, inclusive
	if p.Negative {                           // -1 is the last match
		if lo > n {
			return nil
		}
		lo, hi = n-min(hi, n)+1, n-lo+1
	}
	if lo > n {
		return nil
	}
	hi = min(hi, n)
	return ms[lo-1 : hi]
}

func (p *Partial) append(b []byte) []byte {
	if p.Negative {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, uint64(p.First), 10)
	b = append(b, ':')
	if p.Negative {
		b = append(b, '-')
	}
	return strconv.AppendUint(b, uint64(p.Last), 10)
}

// appendQuoted writes s as a quoted string.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
