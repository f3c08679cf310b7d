package dmarcreport

import (
	"context"
	"log/slog"
	"time"
)

// Daily defaults.
const (
	DefaultHour = 1 // UTC: the day before is over everywhere that matters
	// KeepReceived is how long received reports are kept.
	KeepReceived = 400 * 24 * time.Hour
)

// Daily runs the Sender once a day at Hour:00 UTC (RFC 7489 §7.2: the
// default ri is a day), after the Recorder's counts are written, and
// forgets received reports older than KeepReceived.
type Daily struct {
	Sender   *Sender
	Recorder *Recorder // nil: nothing to write first
	Hour     int       // 0-23, UTC
	Log      *slog.Logger

	stop context.CancelFunc
	done chan struct{}
}

// nextRun is the first Hour:00 UTC after now.
func nextRun(now time.Time, hour int) time.Time {
	now = now.UTC()
	t := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, time.UTC)
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// Start runs the job until Stop.
func (d *Daily) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.stop, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		for {
			t := time.NewTimer(time.Until(nextRun(time.Now(), d.Hour)))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case now := <-t.C:
				d.RunOnce(ctx, now)
			}
		}
	}()
}

// Stop ends the job, waiting for a run under way to end (its context is
// cancelled).
func (d *Daily) Stop() {
	if d.stop != nil {
		d.stop()
		<-d.done
	}
}

// RunOnce is one day's work: write the counts, send the reports of the
// days before now's, drop old received reports.
func (d *Daily) RunOnce(ctx context.Context, now time.Time) {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if d.Recorder != nil {
		if err := d.Recorder.Flush(ctx); err != nil {
			log.Warn("dmarc reports: writing the day's evaluations failed", "err", err)
		}
	}
	outs, err := d.Sender.Run(ctx, now, false)
	if err != nil {
		log.Error("dmarc reports: run failed", "err", err)
	}
	log.Info("dmarc reports: daily run", "reports", len(outs))
	if err := d.Sender.Store.DeleteDMARCReports(ctx, now.Add(-KeepReceived)); err != nil {
		log.Warn("dmarc reports: forgetting old received reports failed", "err", err)
	}
}
