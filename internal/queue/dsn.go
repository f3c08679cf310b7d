package queue

import (
	"context"
	"fmt"
	"io"
	"strings"

	"facteur.dev/facteur/internal/dsn"
	"facteur.dev/facteur/internal/store"
)

// notify sends the sender a DSN (RFC 3464) for the recipients idx of e
// with action "failed", "delayed" or "relayed". Never to the null
// sender: that is how bounces are marked, and a bounce is never bounced.
func (r *Runner) notify(ctx context.Context, e *store.QueuedMessage, idx []int, action string) {
	if e.Sender == "" || len(idx) == 0 {
		return
	}
	if action == "failed" {
		var keep []int
		for _, i := range idx {
			if notifies(e.Status[i].Notify, "FAILURE") {
				keep = append(keep, i)
			}
		}
		if idx = keep; len(idx) == 0 {
			return
		}
	}
	msg, err := r.buildDSN(ctx, e, idx, action)
	if err != nil {
		r.log.Error("dsn build failed", "id", e.ID, "err", err)
		return
	}
	if err := r.sendDSN(ctx, e.Sender, msg); err != nil {
		r.log.Error("dsn delivery failed", "id", e.ID, "to", e.Sender, "err", err)
		return
	}
	r.log.Info("dsn sent", "id", e.ID, "to", e.Sender, "action", action, "recipients", len(idx))
}

// sendDSN hands a DSN to the delivery pipeline with the null sender: to
// the INBOX of a local sender, or into the queue for a remote one.
func (r *Runner) sendDSN(ctx context.Context, to string, msg []byte) error {
	return r.opts.Pipeline.SendReport(ctx, to, msg)
}

// buildDSN builds the report for the recipients idx of e.
func (r *Runner) buildDSN(ctx context.Context, e *store.QueuedMessage, idx []int, action string) ([]byte, error) {
	blob, err := r.opts.Store.Blobs().Open(ctx, e.BlobID)
	if err != nil {
		return nil, err
	}
	defer blob.Close()
	rep := dsn.Report{ReportingMTA: r.opts.Hostname, To: e.Sender, EnvID: e.EnvID, Arrival: e.Created,
		Date: r.now(), Full: strings.EqualFold(e.Ret, "FULL"),
		Original: io.MultiReader(strings.NewReader(e.Headers), blob)}
	for _, i := range idx {
		rep.Recipients = append(rep.Recipients, r.dsnRecipient(e, i, action))
	}
	return dsn.Build(rep)
}

// dsnRecipient describes recipient i of e for a DSN.
func (r *Runner) dsnRecipient(e *store.QueuedMessage, i int, action string) dsn.Recipient {
	st := e.Status[i]
	remote, reply := splitReply(st.Reply)
	rc := dsn.Recipient{Final: e.Recipients[i], Original: st.ORcpt, Action: action, Diagnostic: reply, Human: st.Reply}
	if remote != "" {
		rc.RemoteMTA, _, _ = strings.Cut(remote, "[")
	}
	switch action {
	case "relayed":
		rc.Status = "2.0.0"
	case "delayed":
		rc.Status, rc.RetryUntil = "4.0.0", e.Created.Add(r.opts.MaxAge)
	default:
		rc.Status = "5.0.0"
	}
	if rep := parseReplyText(reply); rep != nil && action != "relayed" {
		rc.Status = rep.Status()
		if action == "failed" && strings.HasPrefix(rc.Status, "4") {
			rc.Status = "5" + rc.Status[1:] // given up: the last temporary reply as final
		}
	}
	return rc
}

// splitReply splits "mx.b.test[127.0.0.1]: 550 …" into host and reply.
func splitReply(s string) (remote, reply string) {
	if i := strings.Index(s, "]: "); i > 0 && !strings.ContainsAny(s[:i], " ") {
		return s[:i+1], s[i+3:]
	}
	return "", s
}

// parseReplyText reads "550 5.1.1 text" back into a Reply.
func parseReplyText(s string) *Reply {
	code, rest, _ := strings.Cut(s, " ")
	var n int
	if _, err := fmt.Sscanf(code, "%d", &n); err != nil || n < 200 || n > 599 {
		return nil
	}
	r := &Reply{Code: n}
	if enh, _, ok := strings.Cut(rest, " "); ok && isEnhanced(enh, n) {
		r.Enhanced = enh
	}
	return r
}
