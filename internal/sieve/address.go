package sieve

import "strings"

// addrPart is an address part (RFC 5228 §2.7.4, RFC 5233).
type addrPart int

const (
	apAll addrPart = iota
	apLocal
	apDomain
	apUser
	apDetail
)

func (c *checker) addressPart(n *node) addrPart {
	for tag, ap := range map[string]addrPart{"localpart": apLocal, "domain": apDomain, "user": apUser, "detail": apDetail} {
		if _, ok := n.tag(tag); ok {
			return ap
		}
	}
	return apAll
}

// part extracts the address part from an addr-spec; ok is false when the
// part does not exist (no detail, RFC 5233 §4).
func (ap addrPart) part(addr, sep string) (string, bool) {
	local, domain := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain = addr[:i], addr[i+1:]
	}
	switch ap {
	case apLocal:
		return local, true
	case apDomain:
		return domain, true
	case apUser, apDetail:
		if sep == "" {
			sep = "+"
		}
		// Each character of sep separates (Pigeonhole's
		// recipient_delimiter); RFC 5233 §4 leaves it to the site.
		i := strings.IndexAny(local, sep)
		if ap == apUser {
			if i < 0 {
				return local, true
			}
			return local[:i], true
		}
		if i < 0 {
			return "", false
		}
		return local[i+1:], true
	}
	return addr, true
}

// parseAddresses extracts the addr-specs of an address list header
// value (RFC 5322 §3.4), leniently: groups, comments, display names.
func parseAddresses(v string) []string {
	var out []string
	for _, item := range splitAddressList(v) {
		if a := addrSpec(item); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// splitAddressList splits at commas and group delimiters outside quotes,
// comments and angle brackets.
func splitAddressList(v string) []string {
	var items []string
	depth, angle, quote := 0, false, false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quote:
			if c == '\\' {
				i++
			} else if c == '"' {
				quote = false
			}
		case c == '"':
			quote = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case !angle && (c == ',' || c == ';'):
			items = append(items, v[start:i])
			start = i + 1
		case !angle && c == ':':
			start = i + 1 // a group's display name
		}
	}
	return append(items, v[start:])
}

func addrSpec(s string) string {
	return squeeze(rawAddrSpec(s))
}

// squeeze removes the white space an addr-spec may hold around its
// dots and "@" (RFC 5322 §3.4.1 CFWS) outside quoted strings.
func squeeze(s string) string {
	if !strings.ContainsAny(s, " \t") {
		return s
	}
	var b strings.Builder
	quote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			quote = !quote
		}
		if !quote && (c == ' ' || c == '\t') {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func rawAddrSpec(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			a := s[i+1 : i+j]
			if k := strings.LastIndexByte(a, ':'); k >= 0 { // source route
				a = a[k+1:]
			}
			return strings.TrimSpace(stripComments(a))
		}
	}
	return strings.TrimSpace(stripComments(s))
}

func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	quote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote:
			if c == '"' {
				quote = false
			}
			b.WriteByte(c)
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			if c == '"' {
				quote = true
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}
