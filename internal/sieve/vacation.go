package sieve

import (
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"strings"
	"time"
)

// The vacation (RFC 5230) and vacation-seconds (RFC 6131) extensions.

func vacationSpecs() []*spec {
	return []*spec{{name: "vacation", tags: []tagSpec{
		{name: "days", param: pNumber, group: "period"}, {name: "seconds", param: pNumber, ext: "vacation-seconds", group: "period"},
		{name: "subject", param: pString}, {name: "from", param: pString}, {name: "addresses", param: pList},
		{name: "mime"}, {name: "handle", param: pString},
		{name: "fcc", param: pString, ext: "fcc"}, {name: "create", ext: "fcc"}, {name: "flags", param: pList, ext: "fcc"},
	}, pos: []posArg{{pString, "reason"}}, check: checkVacation, run: runVacation}}
}

type vacationData struct {
	reason, subject, from, handle *str
	addresses                     []*str
	period                        time.Duration
	mime                          bool
}

func checkVacation(c *checker, n *node) {
	d := &vacationData{reason: c.str1(n.pargs[0]), period: 7 * 24 * time.Hour}
	if a, ok := n.tag("days"); ok {
		d.period = time.Duration(min(a.num, 365)) * 24 * time.Hour
		if a.num == 0 {
			d.period = 24 * time.Hour // RFC 5230 §4.1: at least one day
		}
	}
	if a, ok := n.tag("seconds"); ok {
		d.period = time.Duration(min(a.num, 365*24*3600)) * time.Second
	}
	opt := func(tag string) *str {
		if a, ok := n.tag(tag); ok {
			return c.str1(a)
		}
		return nil
	}
	d.subject, d.from, d.handle = opt("subject"), opt("from"), opt("handle")
	if d.from != nil && !d.from.dyn && !validAddress(d.from.s) {
		c.errorf(n.tagAt["from"], "specified :from address '"+d.from.s+"' is invalid for vacation action")
	}
	if a, ok := n.tag("addresses"); ok {
		d.addresses = c.strs(a)
	}
	_, d.mime = n.tag("mime")
	n.data = d
}

// vacationKey identifies "the same vacation" for a sender (RFC 5230
// §4.2: the handle, or the reason and subject).
func vacationKey(handle, sender string) string {
	h := sha256.Sum256([]byte(handle + "\x00" + strings.ToLower(sender)))
	return "vacation:" + hex.EncodeToString(h[:16])
}

func runVacation(x *exec, n *node) (bool, error) {
	d := n.data.(*vacationData)
	for _, a := range x.res.Actions {
		if s, ok := a.(Send); ok && s.Kind == "vacation" {
			return false, runtimeErr(n, "duplicate vacation action not allowed")
		}
		if _, ok := a.(Reject); ok {
			return false, runtimeErr(n, "vacation action conflicts with reject action")
		}
	}
	sender := addrSpec(x.in.Envelope.From)
	why, me := x.noVacation(d, sender)
	if why != "" {
		x.res.Log = append(x.res.Log, "vacation not sent: "+why)
		return true, x.add(n, Send{Kind: "vacation", Suppressed: why})
	}
	reason := x.expand(d.reason)
	handle := reason
	if d.handle != nil {
		handle = x.expand(d.handle)
	} else if d.subject != nil {
		handle += x.expand(d.subject)
	}
	key := vacationKey(handle, sender)
	if x.in.Memory != nil {
		if seen, err := x.in.Memory.Seen(x.ctx, key); err == nil && seen {
			x.res.Log = append(x.res.Log, "vacation not sent: already replied to "+sender)
			return true, nil
		}
	}
	x.res.Remember = append(x.res.Remember, Mark{Key: key, Expires: x.now().Add(d.period)})
	msg := x.vacationMessage(d, sender, me, reason)
	from := ""
	if x.in.Vacation.FromRecipient {
		from = x.in.Envelope.To
	}
	return true, x.add(n, Send{Kind: "vacation", From: from, To: []string{sender}, Message: msg})
}

func (x *exec) now() time.Time {
	if x.in.Now.IsZero() {
		return time.Now()
	}
	return x.in.Now
}

// userAddresses are the addresses the user receives mail at.
func (x *exec) userAddresses(d *vacationData) []string {
	l := []string{x.in.User, x.in.Envelope.To}
	if x.in.VacationOrigTo {
		l = append(l, x.in.Envelope.OrigTo)
	}
	return append(l, x.expandList(d.addresses)...)
}

// noVacation says why no reply goes out (RFC 5230 §4.5, §4.6; RFC 3834
// §2), or "" and the user's address the message was sent to.
func (x *exec) noVacation(d *vacationData, sender string) (string, string) {
	if sender == "" {
		return "null sender", ""
	}
	mine := x.userAddresses(d)
	for _, a := range mine {
		if a != "" && strings.EqualFold(addrSpec(a), sender) {
			return "the sender is the user", ""
		}
	}
	local := strings.ToLower(sender)
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	if local == "mailer-daemon" || local == "listserv" || local == "majordomo" || strings.HasPrefix(local, "owner-") ||
		strings.HasSuffix(local, "-request") || strings.HasPrefix(local, "mailer-daemon") {
		return "system address", ""
	}
	for _, v := range x.headerValues([]string{"auto-submitted"}) {
		if !strings.EqualFold(strings.TrimSpace(v), "no") {
			return "auto-submitted message", ""
		}
	}
	for _, h := range []string{"list-id", "list-owner", "list-unsubscribe", "list-post", "list-help", "list-subscribe", "list-archive"} {
		if len(x.headerValues([]string{h})) > 0 {
			return "mailing list message", ""
		}
	}
	for _, v := range x.headerValues([]string{"precedence"}) {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "bulk", "list", "junk":
			return "bulk message", ""
		}
	}
	for _, v := range x.headerValues([]string{"x-auto-response-suppress"}) {
		for _, p := range strings.Split(v, ",") {
			if p := strings.ToLower(strings.TrimSpace(p)); p == "all" || p == "oof" {
				return "X-Auto-Response-Suppress", ""
			}
		}
	}
	if x.in.Vacation.NoRecipientCheck || len(x.expandList(d.addresses)) == 0 && x.in.User == "" && x.in.Envelope.To == "" {
		return "", ""
	}
	for _, v := range x.headerValues([]string{"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"}) {
		for _, a := range parseAddresses(v) {
			for _, m := range mine {
				if m != "" && strings.EqualFold(a, addrSpec(m)) {
					return "", a
				}
			}
		}
	}
	return "the user's address is not among the recipients", ""
}

// vacationMessage composes the reply (RFC 5230 §5).
func (x *exec) vacationMessage(d *vacationData, sender, me, reason string) []byte {
	from := me
	if from == "" {
		from = x.in.User
	}
	if d.from != nil {
		from = x.expand(d.from)
	}
	subject := ""
	if d.subject != nil {
		subject = x.expand(d.subject)
	} else {
		subject = x.defaultSubject()
	}
	var b strings.Builder
	hdr := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	hdr("From", from)
	hdr("To", x.replyTo(sender, x.in.Vacation.IgnoreEnvelope))
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", x.now().Format(time.RFC1123Z))
	hdr("Auto-Submitted", "auto-replied (vacation)")
	hdr("Precedence", "bulk")
	hdr("X-Sieve", "Facteur")
	ids := x.headerValues([]string{"message-id"})
	if len(ids) > 0 {
		id := strings.TrimSpace(ids[0])
		hdr("In-Reply-To", id)
		refs := strings.Join(strings.Fields(strings.Join(x.headerValues([]string{"references"}), " ")), " ")
		if refs == "" {
			if irt := x.headerValues([]string{"in-reply-to"}); len(irt) > 0 {
				refs = strings.TrimSpace(irt[0])
			}
		}
		if refs != "" {
			refs += " "
		}
		hdr("References", refs+id)
	}
	hdr("MIME-Version", "1.0")
	if d.mime {
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(reason, "\r\n", "\n"), "\n", "\r\n"))
		return []byte(b.String())
	}
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(reason, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

// replyTo is the To field of a reply: the original header field that
// names the sender (Reply-To, Sender or From; RFC 3834 §4), else the
// bare envelope sender.
// With anyHeader, the first of Reply-To, Sender and From is the
// answer whether or not it holds the envelope sender.
func (x *exec) replyTo(sender string, anyHeader bool) string {
	for _, h := range []string{"reply-to", "sender", "from"} {
		for _, v := range x.headerValues([]string{h}) {
			if anyHeader && len(parseAddresses(v)) > 0 {
				return strings.TrimSpace(v)
			}
			for _, a := range parseAddresses(v) {
				if strings.EqualFold(a, sender) {
					return strings.TrimSpace(v)
				}
			}
		}
	}
	return "<" + sender + ">"
}

// defaultSubject is the subject of a reply the script gives none for
// (RFC 5230 §4.3 leaves it to the implementation): VacationOptions'
// template or default, else "Auto: " and the original subject, cut to
// MaxSubject characters.
func (x *exec) defaultSubject() string {
	o := x.in.Vacation
	orig := ""
	if l := x.headerValues([]string{"subject"}); len(l) > 0 {
		orig = strings.Join(strings.Fields(l[0]), " ")
	}
	subject := "Auto: " + orig
	switch {
	case o.SubjectTemplate != "":
		subject = strings.NewReplacer("%{subject}", orig, "%%", "%").Replace(o.SubjectTemplate)
	case o.DefaultSubject != "":
		subject = o.DefaultSubject
	}
	max := o.MaxSubject
	if max <= 0 {
		max = DefaultMaxSubject
	}
	if r := []rune(subject); len(r) > max {
		subject = string(r[:max-1]) + "\u2026"
	}
	return subject
}
