package smtpd

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"fmt"
	"strings"
	"time"
)

// receivedHeader builds the trace field of RFC 5321 §4.4, with the
// protocol keyword of RFC 3848 and, as Postfix does, the TLS version and
// cipher in a comment. The login name of an authenticated client is not
// written (as Postfix's default): "ESMTPA" says that it authenticated, and
// the logs say as whom.
func (s *session) receivedHeader(id string) string {
	var b strings.Builder
	helo := sanitize(s.conn.Hostname())
	ip := "unknown"
	if s.ip.IsValid() {
		ip = s.ip.String()
	}
	fmt.Fprintf(&b, "Received: from %s ([%s])\r\n", helo, ip)
	if st, ok := s.conn.TLSConnectionState(); ok {
		fmt.Fprintf(&b, "\t(using %s with cipher %s)\r\n", strings.Replace(tls.VersionName(st.Version), "TLS ", "TLSv", 1), tls.CipherSuiteName(st.CipherSuite))
	}
	fmt.Fprintf(&b, "\tby %s (Facteur) with %s id %s", s.srv.opts.Hostname, s.protocol(), id)
	if len(s.routes) == 1 {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", sanitize(s.routes[0].Recipient))
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", time.Now().Format(time.RFC1123Z))
	return b.String()
}

// protocol is the "with" keyword: RFC 3848 §1 (ESMTP, ESMTPS, ESMTPA,
// ESMTPSA) and RFC 2033 (LMTP).
func (s *session) protocol() string {
	if s.srv.opts.Mode == LMTP {
		return "LMTP"
	}
	p := "ESMTP"
	if _, ok := s.conn.TLSConnectionState(); ok {
		p += "S"
	}
	if s.account != nil {
		p += "A"
	}
	return p
}

func queueID() string {
	var b [10]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// sanitize keeps client-supplied text from breaking the header.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '(' || r == ')' || r == ';' {
			return '_'
		}
		return r
	}, s)
}
