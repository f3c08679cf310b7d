package smtpd

import (
	"strings"

	"github.com/emersion/go-smtp"

	"facteur.dev/facteur/internal/delivery"
)

// rcptDSN copies RFC 3461 NOTIFY and ORCPT from RCPT TO into the route,
// for the queue and its DSNs.
func rcptDSN(r *delivery.Route, ro *smtp.RcptOptions) {
	if ro == nil {
		return
	}
	var n []string
	for _, v := range ro.Notify {
		n = append(n, string(v))
	}
	r.Notify = strings.Join(n, ",")
	if ro.OriginalRecipient != "" {
		typ := strings.ToLower(string(ro.OriginalRecipientType))
		if typ == "" {
			typ = "rfc822"
		}
		r.ORcpt = typ + ";" + ro.OriginalRecipient
	}
}

// mailParams keeps the MAIL FROM parameters the next hop needs.
func (s *session) mailParams(env *delivery.Envelope) {
	env.EnvID, env.Ret = s.opts.EnvelopeID, string(s.opts.Return)
	env.SMTPUTF8 = s.opts.UTF8
	env.Body8Bit = s.opts.Body == smtp.Body8BitMIME
	env.RequireTLS = s.opts.RequireTLS
}
