package dmarcreport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"facteur.dev/facteur/internal/checks/dmarc"
	"facteur.dev/facteur/internal/store"
)

// Recorder defaults.
const (
	DefaultFlushInterval = time.Minute
	DefaultMaxPending    = 1000
)

// ErrBacklog is RecordDMARC's answer while the store cannot take the
// counts and too many rows wait: the evaluation is not counted.
var ErrBacklog = errors.New("dmarcreport: too many evaluations waiting for the store")

// Recorder is the dmarc check's Recorder: it counts evaluations in memory
// by the report row they belong to (store.DMARCRecord without Record,
// Count and LastSeen) and writes the counts to the store in one call
// every FlushInterval, as soon as MaxPending rows wait, and at Stop. So
// the SMTP session never waits for a disk write, and a flood of identical
// mail costs a map increment a message. A crash loses at most the counts
// of one interval: aggregate reports are statistics.
type Recorder struct {
	store store.DMARC
	log   *slog.Logger
	// FlushInterval and MaxPending are read by Start (0: the defaults).
	FlushInterval time.Duration
	MaxPending    int

	mu      sync.Mutex
	pending map[string]*store.DMARCRecord
	full    chan struct{} // wakes the flusher: MaxPending rows wait
	stop    context.CancelFunc
	done    chan struct{}
}

var _ dmarc.Recorder = (*Recorder)(nil)

// NewRecorder returns a recorder writing to s; call Start, then Stop.
func NewRecorder(s store.DMARC, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: s, log: log, pending: map[string]*store.DMARCRecord{}, full: make(chan struct{}, 1)}
}

// RecordDMARC implements dmarc.Recorder. Evaluations whose policy has no
// mailto: rua (nobody to report to) and those without a client IP
// (source_ip is required) are not kept.
func (r *Recorder) RecordDMARC(ctx context.Context, ev dmarc.Evaluation) error {
	if !ev.SourceIP.IsValid() || len(mailtoURIs(ev.Record.AggregateURIs)) == 0 {
		return nil
	}
	row := rowOf(ev)
	key := rowKey(&row)
	r.mu.Lock()
	defer r.mu.Unlock()
	if have, ok := r.pending[key]; ok {
		have.Count++
		if !row.LastSeen.Before(have.LastSeen) {
			have.LastSeen, have.Record = row.LastSeen, row.Record
		}
		return nil
	}
	limit := r.maxPending()
	if len(r.pending) >= 4*limit {
		return ErrBacklog
	}
	r.pending[key] = &row
	if len(r.pending) >= limit {
		select {
		case r.full <- struct{}{}:
		default:
		}
	}
	return nil
}

func (r *Recorder) maxPending() int { return cmp.Or(r.MaxPending, DefaultMaxPending) }

// rowOf is the report row of one evaluation, counted once.
func rowOf(ev dmarc.Evaluation) store.DMARCRecord {
	row := store.DMARCRecord{Day: ev.Time.UTC(), PolicyDomain: ev.PolicyDomain, HeaderFrom: ev.HeaderFrom,
		SourceIP: ev.SourceIP.Unmap().String(), Disposition: string(ev.Disposition), Override: ev.Override,
		DKIMAligned: ev.DKIMAligned, SPFAligned: ev.SPFAligned,
		SPF:    store.DMARCAuth{Domain: ev.SPF.Domain, Scope: ev.SPF.Scope, Result: string(ev.SPF.Result)},
		Record: ev.Record.String(), Count: 1, LastSeen: ev.Time}
	if row.Disposition == "" {
		row.Disposition = string(dmarc.PolicyNone)
	}
	for _, d := range ev.DKIM {
		row.DKIM = append(row.DKIM, store.DMARCAuth{Domain: d.Domain, Selector: d.Selector, Result: string(d.Result)})
	}
	return row
}

// rowKey identifies the row of r: its UTC day and every reported field,
// DKIM results in any order.
func rowKey(r *store.DMARCRecord) string {
	dkim := make([]string, len(r.DKIM))
	for i, d := range r.DKIM {
		dkim[i] = d.Domain + "/" + d.Selector + "/" + d.Result
	}
	slices.Sort(dkim)
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%t|%t|%s|%s|%s|%s", r.Day.Format(time.DateOnly), r.PolicyDomain,
		r.HeaderFrom, r.SourceIP, r.Disposition, r.Override, r.DKIMAligned, r.SPFAligned,
		strings.Join(dkim, ","), r.SPF.Domain, r.SPF.Scope, r.SPF.Result)
}

// Flush writes the counts waiting to the store. When the store fails they
// are kept for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.pending
	r.pending = map[string]*store.DMARCRecord{}
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	rows := make([]store.DMARCRecord, 0, len(batch))
	for _, k := range slices.Sorted(maps.Keys(batch)) {
		rows = append(rows, *batch[k])
	}
	err := r.store.RecordDMARC(ctx, rows...)
	if err != nil {
		r.putBack(batch)
	}
	return err
}

// putBack merges counts that could not be written with those recorded
// since.
func (r *Recorder) putBack(batch map[string]*store.DMARCRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, row := range batch {
		if have, ok := r.pending[k]; ok {
			have.Count += row.Count
			if row.LastSeen.After(have.LastSeen) {
				have.LastSeen, have.Record = row.LastSeen, row.Record
			}
			continue
		}
		r.pending[k] = row
	}
}

// Start runs the flusher until Stop.
func (r *Recorder) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan struct{})
	every := cmp.Or(r.FlushInterval, DefaultFlushInterval)
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-r.full:
			}
			if err := r.Flush(ctx); err != nil {
				r.log.Warn("dmarc: writing the evaluations for aggregate reports failed, will retry", "err", err)
			}
		}
	}()
}

// Stop ends the flusher and writes what is waiting, within ctx.
func (r *Recorder) Stop(ctx context.Context) error {
	if r.stop != nil {
		r.stop()
		<-r.done
	}
	return r.Flush(ctx)
}
