package dmarcreport

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/checks/dmarc"
	"facteur.dev/facteur/internal/store"
)

const recordRUA = "v=DMARC1; p=reject; rua=mailto:dmarc@example.test"

// A flood of identical mail is one row; what differs in a reported field
// or in its day is another; evaluations nobody asked reports for are not
// kept.
func TestRecorderAggregates(t *testing.T) {
	e := newEnv(t)
	r := NewRecorder(e.store, nil)
	ctx := context.Background()
	relay := dmarc.DKIMAuth{Domain: "relay.test", Selector: "ed", Result: authres.ResultPass}
	for i := range 1000 {
		ev := evaluation(t, "example.test", recordRUA, "192.0.2.1", i%24)
		if i%2 == 1 { // the same signatures in another order make no other row
			ev.DKIM = append(ev.DKIM, relay)
		} else {
			ev.DKIM = append([]dmarc.DKIMAuth{relay}, ev.DKIM...)
		}
		must(t, r.RecordDMARC(ctx, ev))
	}
	must(t, r.RecordDMARC(ctx, failing(t, "example.test", recordRUA, "::ffff:192.0.2.1", 3))) // the same IPv4 address
	must(t, r.RecordDMARC(ctx, evaluation(t, "example.test", recordRUA, "192.0.2.1", 24)))    // the next day
	must(t, r.RecordDMARC(ctx, evaluation(t, "example.test", "v=DMARC1; p=none", "192.0.2.9", 1)))
	noIP := evaluation(t, "example.test", recordRUA, "192.0.2.1", 1)
	noIP.SourceIP = netip.Addr{}
	must(t, r.RecordDMARC(ctx, noIP))
	must(t, r.Flush(ctx))
	must(t, r.Flush(ctx)) // nothing left: nothing added twice

	rows, err := e.store.DMARCRecords(ctx, day, day.AddDate(0, 0, 2))
	must(t, err)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want the flood, the failure and the next day: %+v", len(rows), rows)
	}
	flood, fail, next := rows[0], rows[1], rows[2]
	if fail.Disposition == "none" {
		flood, fail = fail, flood
	}
	if flood.Count != 1000 || len(flood.DKIM) != 2 || flood.SourceIP != "192.0.2.1" || flood.Record != recordRUA ||
		!flood.LastSeen.Equal(day.Add(23*time.Hour)) || !flood.DKIMAligned || flood.SPF.Result != "softfail" {
		t.Fatalf("flood row %+v", flood)
	}
	if fail.Count != 1 || fail.Disposition != "reject" || fail.SourceIP != "192.0.2.1" || fail.DKIMAligned {
		t.Fatalf("failure row %+v", fail)
	}
	if !next.Day.Equal(day.AddDate(0, 0, 1)) || next.Count != 1 {
		t.Fatalf("next day's row %+v", next)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// failingStore fails RecordDMARC while fail is set.
type failingStore struct {
	store.DMARC
	fail bool
}

func (f *failingStore) RecordDMARC(ctx context.Context, rs ...store.DMARCRecord) error {
	if f.fail {
		return errors.New("disk full")
	}
	return f.DMARC.RecordDMARC(ctx, rs...)
}

// Counts the store could not take are written at the next flush, with
// those recorded since; past four times MaxPending rows waiting, new
// rows are refused rather than kept without bound; Stop writes the rest.
func TestRecorderKeepsCountsWhenTheStoreFails(t *testing.T) {
	e := newEnv(t)
	fs := &failingStore{DMARC: e.store, fail: true}
	r := NewRecorder(fs, nil)
	r.MaxPending = 2
	ctx := context.Background()
	ev := evaluation(t, "example.test", recordRUA, "192.0.2.1", 1)
	must(t, r.RecordDMARC(ctx, ev))
	if err := r.Flush(ctx); err == nil {
		t.Fatal("Flush hid the store's failure")
	}
	must(t, r.RecordDMARC(ctx, ev))
	for i := range 7 {
		must(t, r.RecordDMARC(ctx, evaluation(t, "example.test", recordRUA, fmt.Sprintf("192.0.2.%d", 10+i), 1)))
	}
	if err := r.RecordDMARC(ctx, evaluation(t, "example.test", recordRUA, "192.0.2.99", 1)); !errors.Is(err, ErrBacklog) {
		t.Fatalf("the ninth row waiting: %v, want ErrBacklog", err)
	}
	fs.fail = false
	r.Start()
	must(t, r.Stop(ctx))
	rows, err := e.store.DMARCRecords(ctx, day, day.AddDate(0, 0, 1))
	must(t, err)
	if len(rows) != 8 || rows[0].SourceIP != "192.0.2.1" || rows[0].Count != 2 {
		t.Fatalf("after the store came back: %+v", rows)
	}
}
