package imapd

import (
	"slices"
	"testing"

	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/store"
)

func TestUIDRange(t *testing.T) {
	t.Parallel()
	var states []store.MessageState
	for _, u := range []uint32{2, 4, 5, 9, 12} {
		states = append(states, store.MessageState{UID: u})
	}
	v := newView(store.Mailbox{}, states, false)
	for _, tc := range []struct {
		set  imapwire.SeqSet
		want []int
	}{
		{imapwire.SeqSet{Ranges: []imapwire.SeqRange{rng(1, 0)}}, []int{0, 1, 2, 3, 4}},                   // 1:*
		{imapwire.SeqSet{Ranges: []imapwire.SeqRange{rng(20, 0)}}, []int{4}},                              // 20:* is 12:20
		{imapwire.SeqSet{Ranges: []imapwire.SeqRange{rng(5, 3), rng(4, 4), rng(11, 12)}}, []int{1, 2, 4}}, // 5:3,4,11:12
		{imapwire.SeqSet{Ranges: []imapwire.SeqRange{rng(6, 8)}}, nil},
	} {
		if got := v.uidRange(tc.set); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.set, got, tc.want)
		}
	}
	// The same answer as SeqSet.Contains for every UID.
	set := imapwire.SeqSet{Ranges: []imapwire.SeqRange{rng(3, 9), rng(0, 0)}}
	var want []int
	for i, u := range v.uids {
		if set.Contains(u, v.lastUID()) {
			want = append(want, i)
		}
	}
	if got := v.uidRange(set); !slices.Equal(got, want) {
		t.Errorf("%s: %v, want %v", set, got, want)
	}
}

func rng(start, stop uint32) imapwire.SeqRange { return imapwire.SeqRange{Start: start, Stop: stop} }
