package queue

import (
	"context"
	"strings"
	"time"

	"facteur.dev/facteur/internal/store"
)

// settle records the outcome of an attempt on e: t's replies, or fail
// for every pending recipient. Recipients that reached a final state
// get their DSN now; an entry with nobody pending is removed, the others
// are rescheduled with backoff until MaxAge.
func (r *Runner) settle(ctx context.Context, e *store.QueuedMessage, t *transaction, fail *Reply) {
	now := r.now()
	failed, relayed := record(e, t, fail)
	r.logAttempt(e, t)
	pending := pendingCount(e)
	if pending > 0 && now.Sub(e.Created) >= r.opts.MaxAge {
		for i := range e.Status {
			if e.Status[i].State == store.RcptPending {
				e.Status[i].State = store.RcptFailed
				e.Status[i].Reply += " (gave up after " + r.opts.MaxAge.String() + ")"
				failed = append(failed, i)
			}
		}
		pending = 0
	}
	r.notify(ctx, e, failed, "failed")
	r.notify(ctx, e, relayed, "relayed")
	// The entry leaves this runner's hands before its lease ends: were
	// it still in r.active when claimed again, dispatch would skip it and
	// the new lease would keep it waiting for a full lease time.
	r.active.Delete(e.ID)
	if pending == 0 {
		if err := r.opts.Store.DeleteQueued(ctx, e.ID); err != nil {
			r.log.Error("queue delete failed", "id", e.ID, "err", err)
		} else {
			r.removed.Add(1)
		}
		r.log.Info("queue entry done", "id", e.ID, "txn", e.Txn, "domain", e.Domain, "failed", len(failed), "recipients", outcomes(e))
		return
	}
	e.Attempts++
	e.NextAttempt = now.Add(r.backoff(e.Attempts))
	r.warnDelayed(ctx, e, now)
	if err := r.opts.Store.UpdateQueued(ctx, *e); err != nil {
		r.log.Error("queue update failed", "id", e.ID, "err", err)
	}
	r.log.Info("queue entry deferred", "id", e.ID, "txn", e.Txn, "domain", e.Domain, "attempts", e.Attempts,
		"next", e.NextAttempt.Format(time.RFC3339), "err", e.LastError)
}

// logAttempt writes the line of one relay attempt: the queue entry and
// the transaction it came from, the server tried and each recipient's
// state and reply.
func (r *Runner) logAttempt(e *store.QueuedMessage, t *transaction) {
	relay := ""
	if t != nil {
		relay = t.remote
	}
	r.log.Info("relay attempt", "id", e.ID, "txn", e.Txn, "from", e.Sender, "domain", e.Domain, "relay", relay,
		"recipients", outcomes(e))
}

// outcomes is "rcpt state: reply" for each recipient of e.
func outcomes(e *store.QueuedMessage) []string {
	out := make([]string, len(e.Recipients))
	for i, rc := range e.Recipients {
		st := e.Status[i]
		state := st.State
		if state == store.RcptPending {
			state = "pending"
		}
		out[i] = rc + " " + state
		if st.Reply != "" {
			out[i] += ": " + st.Reply
		}
	}
	return out
}

// record writes t's replies (or fail, for every pending recipient) into
// e's status. It returns the recipients that failed now, and those
// delivered with NOTIFY=SUCCESS to a server that will not report (DSN
// "relayed").
func record(e *store.QueuedMessage, t *transaction, fail *Reply) (failed, relayed []int) {
	apply := func(i int, rep *Reply, remote string) {
		st := &e.Status[i]
		st.Reply = rep.Error()
		if remote != "" && !rep.Local {
			st.Reply = remote + ": " + st.Reply
		}
		switch {
		case rep.Code/100 == 2:
			st.State = store.RcptDelivered
			if notifies(st.Notify, "SUCCESS") && (t == nil || !t.dsn) {
				relayed = append(relayed, i)
			}
		case !rep.Temporary():
			st.State = store.RcptFailed
			failed = append(failed, i)
		}
		e.LastError = st.Reply
	}
	if t != nil {
		for k, i := range t.idx {
			apply(i, t.replies[k], t.remote)
		}
		return failed, relayed
	}
	for i, st := range e.Status {
		if st.State == store.RcptPending {
			apply(i, fail, "")
		}
	}
	return failed, relayed
}

// warnDelayed sends the one "delayed" DSN once e is delay_warning old.
func (r *Runner) warnDelayed(ctx context.Context, e *store.QueuedMessage, now time.Time) {
	if r.opts.DelayWarning <= 0 || e.Warned || now.Sub(e.Created) < r.opts.DelayWarning {
		return
	}
	var delayed []int
	for i, st := range e.Status {
		if st.State == store.RcptPending && (st.Notify == "" || notifies(st.Notify, "DELAY")) {
			delayed = append(delayed, i)
		}
	}
	r.notify(ctx, e, delayed, "delayed")
	e.Warned = true
}

func pendingCount(e *store.QueuedMessage) int {
	n := 0
	for _, st := range e.Status {
		if st.State == store.RcptPending {
			n++
		}
	}
	return n
}

// notifies reports whether a NOTIFY value asks for kind (RFC 3461 §4.1):
// no NOTIFY means FAILURE only.
func notifies(notify, kind string) bool {
	if notify == "" {
		return kind == "FAILURE"
	}
	for k := range strings.SplitSeq(strings.ToUpper(notify), ",") {
		if strings.TrimSpace(k) == kind {
			return true
		}
	}
	return false
}

// backoff is the wait after the n-th failed attempt.
func (r *Runner) backoff(n int) time.Duration {
	return r.opts.Retry[min(n, len(r.opts.Retry))-1]
}
