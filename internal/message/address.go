package message

import "strings"

const (
	maxAddresses = 1000 // addresses kept per field
	missingHost  = ".MISSING-HOST-NAME."
)

// token is a lexical unit of an address field (RFC 5322 §3.2): a word (atom
// or dot-atom, leniently anything else), a quoted-string, a domain-literal
// or one of the specials that structure an address list.
type token struct {
	val     string
	special byte // '<', '>', ',', ':', ';' or '@'; 0 for words
	quoted  bool
	space   bool // white space or a comment came before it
	// after is set when a comment follows the token (before the next
	// one); comment is then the last such comment's text, empty for an
	// unterminated one.
	after   bool
	comment string
}

// lexAddress splits an address field into tokens. Comments are not tokens:
// each is kept on the token before it, for the obsolete display name of
// "user@domain (Real Name)".
func lexAddress(s string) []token {
	var toks []token
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space = true
			i++
			continue
		case c == '(':
			text, end := readComment(s, i)
			if n := len(toks); n > 0 {
				toks[n-1].after, toks[n-1].comment = true, text
			}
			i = end
			space = true
			continue
		case c == '"':
			val, rest := unquote(s[i:])
			toks = append(toks, token{val: val, quoted: true, space: space})
			i = len(s) - len(rest)
		case strings.IndexByte("<>,:;@", c) >= 0:
			toks = append(toks, token{val: s[i : i+1], special: c, space: space})
			i++
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				j = len(s) - i - 1
			}
			toks = append(toks, token{val: s[i : i+j+1], space: space})
			i += j + 1
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n(\"<>,:;@[", s[j]) < 0 {
				j++
			}
			j = max(j, i+1) // a stray ')' is a word
			toks = append(toks, token{val: s[i:j], space: space})
			i = j
		}
		space = false
	}
	return toks
}

// readComment reads the comment (RFC 5322 §3.2.2) starting at s[i]: its
// text without the outer parentheses and with quoted-pairs unescaped
// (nested comments kept as written), and the index after it. An
// unterminated comment runs to the end of s and has no text.
func readComment(s string, i int) (text string, end int) {
	var b strings.Builder
	depth := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
			continue
		case '(':
			depth++
			if depth == 1 {
				continue
			}
		case ')':
			depth--
			if depth == 0 {
				return b.String(), i + 1
			}
		}
		b.WriteByte(c)
	}
	return "", len(s)
}

// addressParser turns tokens into IMAP address structures.
type addressParser struct {
	toks    []token
	i       int
	out     []Address
	inGroup bool
	decode  func(string) string
}

// parseAddressList parses an address-list (RFC 5322 §3.4) leniently into
// IMAP address structures, with group markers (RFC 3501 §7.4.2). decode
// turns a raw phrase into a display name.
func parseAddressList(s string, decode func(string) string) []Address {
	ap := &addressParser{toks: lexAddress(s), decode: decode}
	for ap.i < len(ap.toks) && len(ap.out) < maxAddresses {
		ap.next()
	}
	if ap.inGroup {
		ap.out = append(ap.out, Address{})
	}
	return ap.out
}

// next parses one mailbox, group start or group end.
func (ap *addressParser) next() {
	phrase := ap.until(",;:<")
	if ap.i == len(ap.toks) {
		ap.addSpec(phrase)
		return
	}
	switch ap.toks[ap.i].special {
	case ':':
		ap.i++
		name := ap.decode(phraseText(phrase))
		if ap.inGroup || name == "" { // no nested or unnamed groups: ignore the colon
			ap.addSpec(phrase)
			return
		}
		ap.out = append(ap.out, Address{Mailbox: name})
		ap.inGroup = true
	case '<':
		ap.i++
		a := ap.angle()
		a.Name = ap.decode(phraseText(phrase))
		if a.Mailbox != "" || a.Name != "" {
			ap.out = append(ap.out, a)
		}
		ap.until(",;") // junk after '>'
	case ',':
		ap.i++
		ap.addSpec(phrase)
	case ';':
		ap.i++
		ap.addSpec(phrase)
		if ap.inGroup {
			ap.out = append(ap.out, Address{})
			ap.inGroup = false
		}
	}
}

// until returns the tokens up to (not including) a special in stops.
func (ap *addressParser) until(stops string) []token {
	start := ap.i
	for ap.i < len(ap.toks) {
		if c := ap.toks[ap.i].special; c != 0 && strings.IndexByte(stops, c) >= 0 {
			break
		}
		ap.i++
	}
	return ap.toks[start:ap.i]
}

// angle parses what follows '<': an optional obsolete route (RFC 5322
// §4.4) and an addr-spec, up to '>'.
func (ap *addressParser) angle() Address {
	var a Address
	if ap.i < len(ap.toks) && ap.toks[ap.i].special == '@' {
		route := ap.until(":>")
		if ap.i < len(ap.toks) && ap.toks[ap.i].special == ':' {
			ap.i++
			a.Adl = joinTokens(route, false)
		}
	}
	spec := ap.until(">,;")
	if ap.i < len(ap.toks) && ap.toks[ap.i].special == '>' {
		ap.i++
	}
	a.Mailbox, a.Host = splitSpec(spec)
	return a
}

// addSpec adds a bare addr-spec, if there is one. The last comment inside
// or after it, if not empty, is its display name: the obsolete form
// "user@domain (Real Name)" (RFC 5322 §3.4, §4.4; as Dovecot does).
func (ap *addressParser) addSpec(toks []token) {
	mbox, host := splitSpec(toks)
	if mbox == "" && (host == "" || host == missingHost) {
		return
	}
	a := Address{Mailbox: mbox, Host: host}
	for _, t := range toks {
		if t.after {
			a.Name = t.comment
		}
	}
	a.Name = ap.decode(a.Name)
	ap.out = append(ap.out, a)
}

// splitSpec splits addr-spec tokens at the last '@'.
func splitSpec(toks []token) (mailbox, host string) {
	at := -1
	for i, t := range toks {
		if t.special == '@' {
			at = i
		}
	}
	if at < 0 {
		mailbox = joinTokens(toks, false)
	} else {
		mailbox, host = joinTokens(toks[:at], false), joinTokens(toks[at+1:], false)
	}
	if host == "" {
		host = missingHost
	}
	return mailbox, host
}

// joinTokens concatenates token values, with a single space where the input
// had white space if spaced is set.
func joinTokens(toks []token, spaced bool) string {
	var b strings.Builder
	for i, t := range toks {
		if spaced && i > 0 && t.space {
			b.WriteByte(' ')
		}
		b.WriteString(t.val)
	}
	return b.String()
}

// phraseText is a display-name phrase (RFC 5322 §3.2.5) as one string.
func phraseText(toks []token) string {
	return joinTokens(toks, true)
}
