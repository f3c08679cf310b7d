package connsrv

// MaxStrikes is how many invalid commands in a row (unknown, malformed,
// not valid in the state) a session may send before the server ends it,
// as go-smtp does for SMTP after 10 errors and Dovecot after 20 BAD
// commands: a client that only sends garbage is broken or probing, and
// holds a connection slot.
const MaxStrikes = 10

// Strikes counts a session's invalid commands in a row. The zero value is
// ready to use.
type Strikes struct{ n int }

// Bad records an invalid command; it reports whether the session must
// end.
func (s *Strikes) Bad() bool {
	s.n++
	return s.n >= MaxStrikes
}

// Good records a valid command: the count starts again.
func (s *Strikes) Good() { s.n = 0 }
