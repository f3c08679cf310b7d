package search

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"facteur.dev/facteur/internal/message"
)

// sortItem is a message with its sort keys computed once.
type sortItem struct {
	m   *Msg
	str []string // string keys, prepared by casemapKey
	num []int64  // numeric keys
}

// sortMsgs orders ms by the criteria (RFC 5256 §3, RFC 5957 §3), strings
// with the i;unicode-casemap collation (RFC 5256 §2.2); messages equal on
// every criterion keep sequence order, whatever REVERSE says.
func sortMsgs(ms []*Msg, by []SortKey) {
	items := make([]sortItem, len(ms))
	for i, m := range ms {
		it := sortItem{m: m, str: make([]string, len(by)), num: make([]int64, len(by))}
		for j, k := range by {
			it.str[j], it.num[j] = sortValue(m, k.By)
		}
		items[i] = it
	}
	slices.SortStableFunc(items, func(a, b sortItem) int {
		for j, k := range by {
			c := cmp.Or(strings.Compare(a.str[j], b.str[j]), cmp.Compare(a.num[j], b.num[j]))
			if k.Reverse {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.m.Seq, b.m.Seq)
	})
	for i := range items {
		ms[i] = items[i].m
	}
}

// sortValue is the key of m for one criterion.
func sortValue(m *Msg, by string) (string, int64) {
	p := m.Parsed
	if p == nil {
		p = &message.Parsed{}
	}
	switch by {
	case "ARRIVAL":
		return "", m.InternalDate.UnixNano()
	case "DATE":
		return "", sentDate(m).UnixNano()
	case "SIZE":
		return "", m.Size
	case "CC":
		return casemapKey(p.SortCc), 0
	case "FROM":
		return casemapKey(p.SortFrom), 0
	case "TO":
		return casemapKey(p.SortTo), 0
	case "SUBJECT":
		return casemapKey(p.BaseSubject), 0
	case "DISPLAYFROM":
		return casemapKey(p.DisplayFrom), 0
	case "DISPLAYTO":
		return casemapKey(p.DisplayTo), 0
	}
	return "", 0
}

// sentDate is the Date header, or INTERNALDATE without a usable one
// (RFC 5256 §3, DATE).
func sentDate(m *Msg) time.Time {
	if m.Parsed != nil && !m.Parsed.SentDate.IsZero() {
		return m.Parsed.SentDate
	}
	return m.InternalDate
}
