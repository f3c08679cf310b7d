package pop3d

import (
	"fmt"
	"strings"
)

// stat: RFC 1939 §5 STAT, "+OK nn mm".
func (s *session) stat(string) error {
	n, size := s.drop.stat()
	s.reply("+OK %d %d", n, size)
	return nil
}

// list: RFC 1939 §5 LIST [msg], a scan listing per message. The size is
// the stored size, exact for messages stored with CRLF line endings (as
// SMTP delivers them); RETR adds a CR to any bare LF.
func (s *session) list(arg string) error {
	return s.listing(arg, func(i int) string { return fmt.Sprint(s.drop.msgs[i].Size) })
}

// uidl: RFC 1939 §7 UIDL [msg], a unique-id listing per message.
func (s *session) uidl(arg string) error {
	return s.listing(arg, s.drop.uid)
}

// listing answers LIST and UIDL: one message with an argument, else a
// multi-line response over the messages not marked as deleted.
func (s *session) listing(arg string, value func(i int) string) error {
	if arg = strings.TrimSpace(arg); arg != "" {
		i, bad := s.drop.get(arg)
		if bad != "" {
			s.reply("-ERR %s", bad)
			return nil
		}
		s.reply("+OK %d %s", i+1, value(i))
		return nil
	}
	n, size := s.drop.stat()
	s.reply("+OK %d messages (%d octets)", n, size)
	lines := make([]string, 0, n)
	for i := range s.drop.msgs {
		if !s.drop.deleted[i] {
			lines = append(lines, fmt.Sprintf("%d %s", i+1, value(i)))
		}
	}
	s.multiline(lines)
	return nil
}

// dele: RFC 1939 §5 DELE msg marks; the UPDATE state removes.
func (s *session) dele(arg string) error {
	i, bad := s.drop.get(strings.TrimSpace(arg))
	if bad != "" {
		s.reply("-ERR %s", bad)
		return nil
	}
	s.drop.deleted[i] = true
	s.reply("+OK Message %d deleted", i+1)
	return nil
}

// rset: RFC 1939 §5 RSET unmarks every message.
func (s *session) rset(string) error {
	clear(s.drop.deleted)
	n, size := s.drop.stat()
	s.reply("+OK Maildrop has %d messages (%d octets)", n, size)
	return nil
}
