package dmarcreport

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"facteur.dev/facteur/internal/store"
)

// DaySummary is what the received reports say of one source on one day,
// by one reporter: how many messages passed DMARC and how many failed.
type DaySummary struct {
	Day        time.Time // the UTC day the report's period begins
	SourceIP   string
	Org        string
	Pass, Fail int64
}

// Summarize adds up reports per day, source IP and reporter, in that
// order.
func Summarize(reports []store.DMARCReport) []DaySummary {
	type key struct {
		day     time.Time
		ip, org string
	}
	sums := map[key]*DaySummary{}
	var out []*DaySummary
	for _, r := range reports {
		day := r.Begin.UTC().Truncate(24 * time.Hour)
		for _, row := range r.Rows {
			k := key{day, row.SourceIP, r.Org}
			s, ok := sums[k]
			if !ok {
				s = &DaySummary{Day: day, SourceIP: row.SourceIP, Org: r.Org}
				sums[k] = s
				out = append(out, s)
			}
			if row.Passed() {
				s.Pass += row.Count
			} else {
				s.Fail += row.Count
			}
		}
	}
	slices.SortFunc(out, func(a, b *DaySummary) int {
		return cmp.Or(a.Day.Compare(b.Day), compareIP(a.SourceIP, b.SourceIP), cmp.Compare(a.Org, b.Org))
	})
	res := make([]DaySummary, len(out))
	for i, s := range out {
		res[i] = *s
	}
	return res
}

// compareIP orders addresses numerically (IPv4 first).
func compareIP(a, b string) int {
	x, errA := netip.ParseAddr(a)
	y, errB := netip.ParseAddr(b)
	if errA != nil || errB != nil {
		return cmp.Compare(a, b)
	}
	return x.Compare(y)
}
