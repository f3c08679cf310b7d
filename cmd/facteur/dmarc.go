package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/dkim"
	"facteur.dev/facteur/internal/dmarcreport"
	"facteur.dev/facteur/internal/dns"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/store"
)

const dmarcUsage = `dmarc send [--dry-run] [--until DATE] | reports DOMAIN [--days N] | import ADDRESS [--mailbox NAME]

DMARC aggregate reports (RFC 7489 §7.2).
  send          send the reports of the days before today (UTC; --until
                YYYY-MM-DD: before that day) now, as the server does daily:
                one line per report and address; with --dry-run print what
                would be sent, send and delete nothing
  reports       the reports received about DOMAIN: per day, source IP and
                reporter, the messages that passed DMARC and that failed
  import        read the reports in a mailbox of ADDRESS (default INBOX):
                for mail that arrived before checks.dmarc_reports was on
Exit status: 0 done, 1 an error, 2 usage.`

func runDMARC(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "dmarc", dmarcUsage)
	dry := fs.Bool("dry-run", false, "with send: print what would be sent, send nothing")
	days := fs.Int("days", 7, "with reports: how many days back")
	mailbox := fs.String("mailbox", "INBOX", "with import: the mailbox to read")
	until := fs.String("until", "", "with send: report the days before this `date` (YYYY-MM-DD, UTC; default today)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && pos[0] == "send":
		end := time.Now()
		if *until != "" {
			if end, err = time.Parse(time.DateOnly, *until); err != nil {
				return usagef("dmarc send: --until %q is not YYYY-MM-DD", *until)
			}
		}
		return dmarcSend(ctx, e, end, *dry)
	case len(pos) == 2 && pos[0] == "reports" && *days > 0:
		return dmarcReports(ctx, e, pos[1], *days)
	case len(pos) == 2 && pos[0] == "import":
		return dmarcImport(ctx, e, pos[1], *mailbox)
	}
	fs.Usage()
	return subUsage("dmarc", []string{"send [--dry-run] [--until DATE]", "reports DOMAIN [--days N]", "import ADDRESS [--mailbox NAME]"})
}

// newReportSender is the sender of the daily job and of `dmarc send`.
func newReportSender(cfg *config.Config, s store.Store, p *delivery.Pipeline, log *slog.Logger) *dmarcreport.Sender {
	return &dmarcreport.Sender{Store: s, Pipeline: p, Resolver: dns.New(cfg.ChecksResolver()),
		Signer: dkim.New(cfg.DataDir), Hostname: cfg.Hostname, Email: cfg.ReportEmail(), Log: log}
}

func dmarcSend(ctx context.Context, e *env, until time.Time, dry bool) error {
	cfg, s, err := openStore(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	p := delivery.New(s, nil) // queued reports are sent by the running server's queue
	p.SetHostname(cfg.Hostname)
	if cfg.Checks.DMARCReports { // a report to a local rua is stored as the server would
		p.SetCopyFilters(&dmarcreport.Importer{Store: s})
	}
	outs, err := newReportSender(cfg, s, p, nil).Run(ctx, until, dry)
	if dry {
		fmt.Fprintln(e.stdout, "dry run: nothing is sent or deleted")
	}
	for _, o := range outs {
		fmt.Fprintln(e.stdout, o.String())
	}
	if len(outs) == 0 && err == nil {
		fmt.Fprintf(e.stdout, "no DMARC evaluations to report before %s\n", until.UTC().Format(time.DateOnly))
	}
	return err
}

func dmarcReports(ctx context.Context, e *env, domain string, days int) error {
	d, err := mail.NormalizeDomain(domain)
	if err != nil {
		return usagef("dmarc reports: %v", err)
	}
	return withStore(ctx, e, func(s store.Store) error {
		since := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
		reports, err := s.DMARCReports(ctx, d, since)
		if err != nil {
			return err
		}
		printDMARCSummary(e.stdout, d, days, reports)
		return nil
	})
}

// printDMARCSummary prints one line per day, source IP and reporter.
func printDMARCSummary(w io.Writer, domain string, days int, reports []store.DMARCReport) {
	sums := dmarcreport.Summarize(reports)
	if len(sums) == 0 {
		fmt.Fprintf(w, "No DMARC reports about %s in the last %d days.\n", domain, days)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DAY\tSOURCE IP\tPASS\tFAIL\t")
	var pass, fail int64
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t  %s\n", s.Day.Format(time.DateOnly), s.SourceIP, s.Pass, s.Fail, s.Org)
		pass, fail = pass+s.Pass, fail+s.Fail
	}
	tw.Flush()
	fmt.Fprintf(w, "%d report(s): %d messages passed DMARC, %d failed.\n", len(reports), pass, fail)
}

func dmarcImport(ctx context.Context, e *env, address, mailbox string) error {
	return withStore(ctx, e, func(s store.Store) error {
		im := &dmarcreport.Importer{Store: s}
		results, err := im.ImportMailbox(ctx, address, mailbox)
		if err != nil {
			return explain(err, "user "+address+" or its mailbox "+mailbox)
		}
		stored, dup, bad := 0, 0, 0
		for _, r := range results {
			status := "stored"
			switch {
			case r.Err == nil:
				stored++
			case errors.Is(r.Err, store.ErrExists):
				status, dup = "already stored", dup+1
			default:
				status, bad = "skipped: "+r.Err.Error(), bad+1
			}
			fmt.Fprintf(e.stdout, "UID %d %q: %s\n", r.UID, r.Subject, status)
		}
		fmt.Fprintf(e.stdout, "%d report(s) stored, %d already stored, %d skipped\n", stored, dup, bad)
		return nil
	})
}

// dmarcJobs are the server's parts of aggregate reporting: the recorder
// of the MX listener's evaluations and the daily sender.
type dmarcJobs struct {
	rec   *dmarcreport.Recorder
	daily *dmarcreport.Daily
}

// startDMARCJobs starts them when checks.dmarc_reports is on, and makes
// the pipeline store the reports that arrive; nil when it is off.
func startDMARCJobs(cfg *config.Config, s store.Store, p *delivery.Pipeline, log *slog.Logger) *dmarcJobs {
	if !cfg.Checks.DMARCReports {
		return nil
	}
	log = log.With("part", "dmarc-reports")
	p.AddCopyFilter(&dmarcreport.Importer{Store: s, Log: log})
	j := &dmarcJobs{rec: dmarcreport.NewRecorder(s, log)}
	j.daily = &dmarcreport.Daily{Sender: newReportSender(cfg, s, p, log), Recorder: j.rec,
		Hour: dmarcreport.DefaultHour, Log: log}
	j.rec.Start()
	j.daily.Start()
	return j
}

// recorder is the dmarc check's Recorder, nil when reports are off.
func (j *dmarcJobs) recorder() *dmarcreport.Recorder {
	if j == nil {
		return nil
	}
	return j.rec
}

// stop ends the daily job and writes the counts still in memory; call
// it after the listeners stopped. It has a time of its own: the
// listeners may have used up the shutdown grace.
func (j *dmarcJobs) stop(log *slog.Logger) {
	if j == nil {
		return
	}
	j.daily.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.rec.Stop(ctx); err != nil {
		log.Warn("dmarc: the last evaluations could not be written", "err", err)
	}
}
