package imapwire

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// SeqRange is a seq-number or seq-range of a sequence set; 0 stands for
// "*". Start may be larger than Stop: "4:2" is the same range as "2:4"
// (RFC 9051 §9, seq-range).
type SeqRange struct{ Start, Stop uint32 }

// SeqSet is a sequence-set of message sequence numbers or UIDs. Dollar is
// "$", the result saved by the last SEARCH ... SAVE (RFC 5182): the
// session substitutes that result, and Ranges is then empty.
type SeqSet struct {
	Ranges []SeqRange
	Dollar bool
}

// SeqSet reads a sequence-set (RFC 9051 §9): comma-separated numbers and
// ranges, "*" for the largest number in use, or "$" alone (RFC 5182 §2.1).
// Zero is refused.
func (d *Decoder) SeqSet() (SeqSet, error) {
	if d.Consume('$') {
		return SeqSet{Dollar: true}, nil
	}
	var s SeqSet
	for {
		start, err := d.seqNumber()
		if err != nil {
			return SeqSet{}, err
		}
		stop := start
		if d.Consume(':') {
			if stop, err = d.seqNumber(); err != nil {
				return SeqSet{}, err
			}
		}
		s.Ranges = append(s.Ranges, SeqRange{start, stop})
		if !d.Consume(',') {
			return s, nil
		}
	}
}

// seqNumber reads nz-number or "*" (as 0).
func (d *Decoder) seqNumber() (uint32, error) {
	if d.Consume('*') {
		return 0, nil
	}
	b, err := d.peek()
	if err != nil {
		return 0, err
	}
	if b < '1' || b > '9' {
		return 0, d.syntax("expected sequence number")
	}
	return d.Number()
}

// bounds returns the range as lo ≤ hi, with "*" resolved to max.
func (r SeqRange) bounds(max uint32) (lo, hi uint32) {
	lo, hi = r.Start, r.Stop
	if lo == 0 {
		lo = max
	}
	if hi == 0 {
		hi = max
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

// Contains reports whether n is in the set when "*" stands for max, the
// largest number in the mailbox. Like Numbers, it only counts 1 ≤ n ≤ max:
// with max 500, "559:*" means 500:559 and contains 500 (RFC 9051 §6.4.9).
// A "$" set contains nothing; resolve it first.
func (s SeqSet) Contains(n, max uint32) bool {
	if n == 0 || n > max {
		return false
	}
	for _, r := range s.Ranges {
		if lo, hi := r.bounds(max); lo <= n && n <= hi {
			return true
		}
	}
	return false
}

// Numbers returns the numbers of the set from 1 to max, sorted and
// without duplicates; "*" stands for max. Its size is bounded by max,
// whatever the set. A "$" set is empty; resolve it first.
func (s SeqSet) Numbers(max uint32) []uint32 {
	type span struct{ lo, hi uint32 }
	var spans []span
	for _, r := range s.Ranges {
		lo, hi := r.bounds(max)
		lo = cmp.Or(lo, 1)
		if hi > max {
			hi = max
		}
		if lo <= hi {
			spans = append(spans, span{lo, hi})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	var out []uint32
	next := uint64(1) // smallest number not yet emitted
	for _, sp := range spans {
		n := uint64(sp.lo)
		if n < next {
			n = next
		}
		for ; n <= uint64(sp.hi); n++ {
			out = append(out, uint32(n))
		}
		if uint64(sp.hi)+1 > next {
			next = uint64(sp.hi) + 1
		}
	}
	return out
}

// String returns the set in a canonical compact form: ranges without "*"
// sorted and merged ("1:3,5"), then ranges ending in "*" ("7:*", "*"),
// or "$". Order is not preserved; build sets that must keep an order
// (COPYUID) from sorted numbers with SeqSetOf. The empty set is "".
func (s SeqSet) String() string {
	if s.Dollar {
		return "$"
	}
	var fixed []SeqRange // Start ≤ Stop, no "*"
	var stars []uint32   // n of "n:*"; 0 for "*"
	for _, r := range s.Ranges {
		switch {
		case r.Start == 0 && r.Stop == 0:
			stars = append(stars, 0)
		case r.Start == 0 || r.Stop == 0:
			stars = append(stars, max(r.Start, r.Stop))
		default:
			fixed = append(fixed, SeqRange{min(r.Start, r.Stop), max(r.Start, r.Stop)})
		}
	}
	slices.SortFunc(fixed, func(a, b SeqRange) int { return cmp.Compare(a.Start, b.Start) })
	var merged []SeqRange
	for _, r := range fixed {
		if k := len(merged) - 1; k >= 0 && uint64(r.Start) <= uint64(merged[k].Stop)+1 {
			merged[k].Stop = max(merged[k].Stop, r.Stop)
			continue
		}
		merged = append(merged, r)
	}
	slices.Sort(stars)
	stars = slices.Compact(stars)
	if len(stars) > 1 && stars[0] == 0 {
		stars = stars[1:] // "n:*" always includes "*"
	}
	var b strings.Builder
	for _, r := range merged {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(r.Start), 10))
		if r.Stop != r.Start {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(r.Stop), 10))
		}
	}
	for _, n := range stars {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if n != 0 {
			b.WriteString(strconv.FormatUint(uint64(n), 10))
			b.WriteByte(':')
		}
		b.WriteByte('*')
	}
	return b.String()
}

// SeqSetOf compresses numbers into ranges, for COPYUID (RFC 4315),
// VANISHED (RFC 7162) and ESEARCH ALL (RFC 4731). The numbers should be
// sorted; unsorted input is sorted (on a copy), duplicates and zeros are
// dropped.
func SeqSetOf(nums []uint32) SeqSet {
	if !slices.IsSorted(nums) {
		nums = slices.Sorted(slices.Values(nums))
	}
	var s SeqSet
	for _, n := range nums {
		if n == 0 {
			continue
		}
		if k := len(s.Ranges) - 1; k >= 0 && n >= s.Ranges[k].Stop && uint64(n) <= uint64(s.Ranges[k].Stop)+1 {
			s.Ranges[k].Stop = n
			continue
		}
		s.Ranges = append(s.Ranges, SeqRange{n, n})
	}
	return s
}

// AppendSeqList writes nums as a sequence set in their given order,
// joining each run of ascending consecutive numbers into a range:
// 5,3,4,2,1 is "5,3:4,2,1". It is how ESEARCH results are written: sorted
// numbers for SEARCH (RFC 4731 §3.1), sort order for ESORT and PARTIAL
// (RFC 5267 §3.2, RFC 9394 §3). Descending runs stay a list, since "4:2"
// would mean "2:4" (as Dovecot writes them). Nothing is written for no
// numbers.
func AppendSeqList(b []byte, nums []uint32) []byte {
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && uint64(nums[j+1]) == uint64(nums[j])+1 {
			j++
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(nums[i]), 10)
		if j > i {
			b = strconv.AppendUint(append(b, ':'), uint64(nums[j]), 10)
		}
		i = j + 1
	}
	return b
}
