// Package mail holds Facteur's domain types shared by every part: addresses
// and the typed errors that carry an SMTP reply code from the place a
// decision is made (delivery, store, auth) to the protocol front-end that
// must put it on the wire.
package mail

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
)

// Address is a parsed mailbox "local@domain". Domain is lowercase and in
// Unicode form (U-labels); Local keeps its case as received, since RFC 5321
// §2.4 says the local part may be case-sensitive, but lookups use Key().
type Address struct {
	Local  string
	Domain string
}

// ParseAddress parses an addr-spec without angle brackets. The empty string
// is an error here: callers handle the null reverse-path themselves.
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return Address{}, fmt.Errorf("mail: %q is not an address of the form local@domain", s)
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 { // RFC 5321 §4.5.3.1.1
		return Address{}, fmt.Errorf("mail: local part of %q longer than 64 octets", s)
	}
	d, err := NormalizeDomain(domain)
	if err != nil {
		return Address{}, err
	}
	if strings.ContainsAny(local, " <>") || strings.ContainsFunc(local, isControl) {
		return Address{}, fmt.Errorf("mail: invalid local part in %q", s)
	}
	return Address{Local: local, Domain: d}, nil
}

// NormalizeDomain lowercases a domain and converts A-labels to Unicode so
// that "xn--bcher-kva.example" and "bücher.example" are the same domain.
func NormalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if d == "" || len(d) > 255 { // RFC 5321 §4.5.3.1.2
		return "", fmt.Errorf("mail: invalid domain %q", d)
	}
	if strings.HasPrefix(d, "[") { // address literal, RFC 5321 §4.1.3
		return d, nil
	}
	if strings.ContainsFunc(d, isControl) {
		return "", fmt.Errorf("mail: invalid domain %q", d)
	}
	u, err := idna.Lookup.ToUnicode(d)
	if err != nil {
		return "", fmt.Errorf("mail: invalid domain %q: %v", d, err)
	}
	a, err := idna.Lookup.ToASCII(u)
	if err != nil || !hostname(a) {
		return "", fmt.Errorf("mail: invalid domain %q", d)
	}
	return u, nil
}

// isControl reports the characters no address may hold: C0 controls
// (NUL, CR, LF, TAB…) and DEL (RFC 5322 §3.2.3: atext and qtext exclude
// them; RFC 5321 §4.1.2 likewise).
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// hostname reports whether an ASCII domain is a sequence of dot-separated
// labels of 1 to 63 letters, digits and hyphens, neither starting nor
// ending with a hyphen (RFC 5321 §4.1.2 Domain, RFC 1035 §2.3.1): no
// empty label ("evil..test", "."), no "/" or "..".
func hostname(a string) bool {
	for label := range strings.SplitSeq(a, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// String returns local@domain.
func (a Address) String() string { return a.Local + "@" + a.Domain }

// Key is the lookup key: the whole address lowercased.
func (a Address) Key() string { return strings.ToLower(a.Local) + "@" + a.Domain }

// StripTag removes a "+tag" subaddress (RFC 5233) from the local part.
func (a Address) StripTag() (Address, bool) {
	i := strings.IndexByte(a.Local, '+')
	if i <= 0 {
		return a, false
	}
	return Address{Local: a.Local[:i], Domain: a.Domain}, true
}

// Error is a delivery decision with the SMTP reply it maps to. Protocol
// front-ends turn it into their own wire form; Temporary tells a queue to
// retry.
type Error struct {
	Code     int    // SMTP reply code, e.g. 550
	Enhanced [3]int // RFC 3463 enhanced status code
	Message  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Message)
}

// Temporary reports whether the failure is a 4xx one.
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// Errorf builds an *Error.
func Errorf(code int, enhanced [3]int, format string, args ...any) *Error {
	return &Error{Code: code, Enhanced: enhanced, Message: fmt.Sprintf(format, args...)}
}

// Common delivery errors.
var (
	ErrNoSuchUser   = &Error{550, [3]int{5, 1, 1}, "No such user here"}
	ErrRelayDenied  = &Error{550, [3]int{5, 7, 1}, "Relaying denied: this server only accepts mail for its own domains"}
	ErrQuotaFull    = &Error{452, [3]int{4, 2, 2}, "Mailbox full"}
	ErrAliasLoop    = &Error{554, [3]int{5, 4, 6}, "Alias expansion loop detected"}
	ErrTempFailure  = &Error{451, [3]int{4, 3, 0}, "Temporary local problem, try again later"}
	ErrSenderDenied = &Error{550, [3]int{5, 7, 1}, "Sender address does not belong to the authenticated user"}
	// RFC 3463 §3.3: X.2.1 mailbox disabled, not accepting messages.
	ErrDisabled = &Error{550, [3]int{5, 2, 1}, "Mailbox disabled, not accepting messages"}
	// ErrPartial answers a whole SMTP transaction when some recipients
	// got the message and others did not: the sender retries, the
	// recipients that failed for good are then refused at RCPT, and
	// nothing is silently dropped (a duplicate for the others is the
	// lesser harm).
	ErrPartial = &Error{451, [3]int{4, 3, 0}, "Delivery failed for some recipients, try again later"}
	// ErrAddressLiteral refuses mail to "user@[192.0.2.1]": Facteur does
	// not relay to IP addresses named by a client (RFC 5321 §4.1.3 makes
	// their use optional).
	ErrAddressLiteral = &Error{550, [3]int{5, 1, 2}, "Address literals are not accepted as recipients"}
)

// IsLiteral reports whether the domain is an address literal ([192.0.2.1]).
func (a Address) IsLiteral() bool { return strings.HasPrefix(a.Domain, "[") }

// AsError extracts an *Error from err, or wraps an unknown error as a
// temporary local failure so that nothing unexplained becomes permanent.
func AsError(err error) *Error {
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	return ErrTempFailure
}
