package spf

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// macroEnv is what the macro letters stand for while one record is
// evaluated (RFC 7208 §7.3).
type macroEnv struct {
	sender string        // <sender>, always with a local-part (§4.3)
	domain string        // <domain>: the domain whose record this is
	helo   string        // the HELO/EHLO name
	ip     netip.Addr    // <ip>, never an IPv4-mapped IPv6 address (§5)
	ptr    func() string // %{p}: the validated name of <ip>, looked up on first use
	now    time.Time     // %{t}
}

// maxDomainLength is the longest name a query is made for (RFC 7208 §7.3).
const maxDomainLength = 253

// expandMacros checks the macro-string s against RFC 7208 §7.1 and, when
// env is not nil, expands it (§7.3). letters are the macro letters
// allowed: domainLetters, or explainLetters in an explanation string.
// tail is where the literal text after the last macro-expand begins
// (len(s) when s ends with one), which is what domain-end is made of.
func expandMacros(s, letters string, env *macroEnv) (out string, tail int, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			// macro-literal = %x21-24 / %x26-7E; an explain-string also
			// holds SP (§7.1).
			if c < ' ' || c > '~' {
				return "", 0, fmt.Errorf("%w: byte %#x in macro-string", errSyntax, c)
			}
			b.WriteByte(c)
			continue
		}
		n, err := expandOne(&b, s[i:], letters, env)
		if err != nil {
			return "", 0, err
		}
		i += n - 1
		tail = i + 1
	}
	return b.String(), tail, nil
}

// expandOne expands the macro-expand at the start of s, which begins with
// "%", and returns its length: "%%", "%_", "%-" or "%{...}" (§7.1).
func expandOne(b *strings.Builder, s, letters string, env *macroEnv) (int, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%w: %% at the end of a macro-string", errSyntax)
	}
	switch s[1] {
	case '%':
		b.WriteByte('%')
		return 2, nil
	case '_':
		b.WriteByte(' ')
		return 2, nil
	case '-':
		b.WriteString("%20")
		return 2, nil
	case '{':
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return 0, fmt.Errorf("%w: unterminated macro", errSyntax)
		}
		v, err := expandLetter(s[2:end], letters, env)
		b.WriteString(v)
		return end + 1, err
	}
	return 0, fmt.Errorf("%w: %%%c", errSyntax, s[1])
}

// expandLetter expands the inside of %{...}: macro-letter transformers
// *delimiter, where transformers = *DIGIT [ "r" ] (RFC 7208 §7.1, §7.3).
func expandLetter(body, letters string, env *macroEnv) (string, error) {
	if body == "" || !strings.ContainsRune(letters, rune(body[0]|0x20)) {
		return "", fmt.Errorf("%w: macro %%{%s}", errSyntax, body)
	}
	letter, rest := body[0], body[1:]
	digits := rest[:len(rest)-len(strings.TrimLeft(rest, "0123456789"))]
	rest = rest[len(digits):]
	keep, err := keepParts(digits)
	if err != nil {
		return "", err
	}
	reverse := rest != "" && (rest[0] == 'r' || rest[0] == 'R')
	if reverse {
		rest = rest[1:]
	}
	if strings.Trim(rest, ".-+,/_=") != "" {
		return "", fmt.Errorf("%w: macro %%{%s}", errSyntax, body)
	}
	if env == nil {
		return "", nil
	}
	v := transform(env.value(letter|0x20), rest, keep, reverse)
	if letter < 'a' { // an upper-case letter: URL-escaped (§7.3)
		v = urlEscape(v)
	}
	return v, nil
}

// keepParts parses the DIGIT transformer: how many right-hand parts to
// keep, 0 for all. A value of zero is an error (RFC 7208 §7.3).
func keepParts(digits string) (int, error) {
	if digits == "" {
		return 0, nil
	}
	if strings.Trim(digits, "0") == "" {
		return 0, fmt.Errorf("%w: zero macro transformer", errSyntax)
	}
	n, err := strconv.Atoi(digits)
	if err != nil { // too long for an int: more parts than any value has
		n = 0
	}
	return n, nil
}

// transform splits v on the delimiters ("." when none are given),
// reverses the parts if asked, keeps the keep right-most ones and joins
// them with "." (RFC 7208 §7.3).
func transform(v, delims string, keep int, reverse bool) string {
	if delims == "" {
		delims = "."
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(delims, r) })
	if reverse {
		slices.Reverse(parts)
	}
	if keep > 0 && keep < len(parts) {
		parts = parts[len(parts)-keep:]
	}
	return strings.Join(parts, ".")
}

// value is what a macro letter stands for (RFC 7208 §7.3).
func (env *macroEnv) value(letter byte) string {
	local, domain := splitAddress(env.sender)
	switch letter {
	case 's':
		return env.sender
	case 'l':
		return local
	case 'o':
		return domain
	case 'd':
		return env.domain
	case 'i':
		return dottedIP(env.ip)
	case 'p':
		return env.ptr()
	case 'v':
		if env.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return env.helo
	case 'c':
		return env.ip.String()
	case 'r':
		// The receiving host's name; §7.3 says "unknown" when it is not
		// known, and a Checker is not told it.
		return "unknown"
	}
	return strconv.FormatInt(env.now.Unix(), 10) // 't'
}

// dottedIP is %{i}: an IPv4 address in dotted quad, an IPv6 address as
// its 32 nibbles in dot format, most significant first (RFC 7208 §7.3).
func dottedIP(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i, x := range ip.As16() {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteByte(hex[x>>4])
		b.WriteByte('.')
		b.WriteByte(hex[x&15])
	}
	return b.String()
}

// urlEscape escapes every byte outside RFC 3986's unreserved set, as
// RFC 7208 §7.3 asks of upper-case macro letters.
func urlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// checkDomainSpec checks domain-spec = macro-string domain-end, where
// domain-end = ( "." toplabel [ "." ] ) / macro-expand (RFC 7208 §7.1).
// The check is on the text as written, before any expansion.
func checkDomainSpec(spec string) error {
	if spec == "" {
		return fmt.Errorf("%w: empty domain-spec", errSyntax)
	}
	_, tail, err := expandMacros(spec, domainLetters, nil)
	if err != nil || tail == len(spec) {
		return err
	}
	end := strings.TrimSuffix(spec[tail:], ".")
	dot := strings.LastIndexByte(end, '.')
	if dot < 0 || !isTopLabel(end[dot+1:]) {
		return fmt.Errorf("%w: %q does not end in a top label", errSyntax, spec)
	}
	return nil
}

// isTopLabel: toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) (RFC 7208 §7.1): letters,
// digits and inner hyphens, and not all digits.
func isTopLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	digitsOnly := true
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		switch {
		case 'a' <= c && c <= 'z', s[i] == '-':
			digitsOnly = false
		case s[i] < '0' || s[i] > '9':
			return false
		}
	}
	return !digitsOnly
}

// truncateDomain shortens an expanded name longer than 253 characters by
// removing labels from the left (RFC 7208 §7.3).
func truncateDomain(name string) string {
	for len(name) > maxDomainLength {
		dot := strings.IndexByte(name, '.')
		if dot < 0 {
			return name[len(name)-maxDomainLength:]
		}
		name = name[dot+1:]
	}
	return name
}

// splitAddress splits local-part@domain at its last "@".
func splitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return "", addr
	}
	return addr[:i], addr[i+1:]
}
