package sieve

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// RejectMessage composes the message that refuses a delivered message
// when it could not be refused at SMTP time: an MDN (RFC 8098) with the
// "deleted" disposition, as RFC 5429 §2.1.1 describes, to be sent from
// the null sender to in.Envelope.From. Its third part is the original
// header.
func RejectMessage(in *Input, reason string) []byte {
	m := newMessage(in)
	m.header()
	origHeader := m.all()[:m.hdrLen]
	subject := ""
	var msgID string
	for _, f := range m.fields {
		switch strings.ToLower(f.name) {
		case "subject":
			subject = decodeHeader(f.value())
		case "message-id":
			msgID = f.value()
		}
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	boundary := "reject-" + hex.EncodeToString(rnd[:])
	from := in.User
	if from == "" {
		from = in.Envelope.To
	}
	var b strings.Builder
	w := func(s ...string) {
		for _, p := range s {
			b.WriteString(p)
		}
		b.WriteString("\r\n")
	}
	w("From: Mail Delivery Subsystem <postmaster@", domainOf(from), ">")
	w("To: <", in.Envelope.From, ">")
	w("Subject: Rejected: ", encodeValue(subject))
	w("Date: ", now.Format(time.RFC1123Z))
	w("Auto-Submitted: auto-replied (rejected)")
	w("Precedence: bulk")
	w("MIME-Version: 1.0")
	w(`Content-Type: multipart/report; report-type=disposition-notification; boundary="`, boundary, `"`)
	w()
	w("This is a MIME-encapsulated message.")
	w()
	w("--", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w()
	w("Your message to <", in.Envelope.To, "> was automatically rejected:")
	w(strings.ReplaceAll(strings.ReplaceAll(reason, "\r\n", "\n"), "\n", "\r\n"))
	w()
	w("--", boundary)
	w("Content-Type: message/disposition-notification")
	w()
	w("Reporting-UA: ", domainOf(from), "; Facteur Sieve")
	if in.Envelope.To != "" {
		w("Final-Recipient: rfc822; ", in.Envelope.To)
	}
	if msgID != "" {
		w("Original-Message-ID: ", msgID)
	}
	w("Disposition: automatic-action/MDN-sent-automatically; deleted")
	w()
	w("--", boundary)
	w("Content-Type: text/rfc822-headers")
	w()
	b.Write(origHeader)
	w("--", boundary, "--")
	return []byte(b.String())
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.Trim(addr[i+1:], "<> ")
	}
	return "localhost"
}
