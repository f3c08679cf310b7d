package sieve

import (
	"mime"
	"net/url"
	"strings"
	"time"
)

// The enotify extension (RFC 5435) with the mailto method (RFC 5436).

func enotifySpecs() []*spec {
	return []*spec{
		{name: "notify", tags: []tagSpec{{name: "from", param: pString}, {name: "importance", param: pString},
			{name: "options", param: pList}, {name: "message", param: pString},
			{name: "fcc", param: pString, ext: "fcc"}, {name: "create", ext: "fcc"}, {name: "flags", param: pList, ext: "fcc"}},
			pos: []posArg{{pString, "method"}}, check: checkNotify, run: runNotify},
		{name: "valid_notify_method", test: true, pos: []posArg{{pList, "notification-uris"}},
			check: func(c *checker, n *node) { n.data = c.strs(n.pargs[0]) }, run: runValidNotifyMethod},
		{name: "notify_method_capability", test: true, match: true,
			pos:   []posArg{{pString, "notification-uri"}, {pString, "notification-capability"}, {pList, "key-list"}},
			check: checkNotifyCapability, run: runNotifyCapability},
	}
}

type notifyData struct {
	method, from, importance, message *str
}

const notifyProhibited = "local policy prohibits the use of a notify action"

func checkNotify(c *checker, n *node) {
	if c.opts.NoNotify {
		c.errorf(n.pos, "notify command: "+notifyProhibited)
	}
	d := &notifyData{method: c.str1(n.pargs[0])}
	if a, ok := n.tag("from"); ok {
		d.from = c.str1(a)
		if !d.from.dyn && !validAddress(d.from.s) {
			c.errorf(a.pos, "notify command: invalid :from address '"+d.from.s+"'")
		}
	}
	if a, ok := n.tag("options"); ok {
		for _, o := range a.strs {
			if !validNotifyOption(o) {
				c.errorf(a.pos, "notify command: invalid option '"+o+"'")
			}
		}
	}
	if a, ok := n.tag("importance"); ok {
		d.importance = c.str1(a)
		if !d.importance.dyn && d.importance.s != "1" && d.importance.s != "2" && d.importance.s != "3" {
			c.errorf(a.pos, "notify command: invalid :importance value '"+d.importance.s+"'")
		}
	}
	if a, ok := n.tag("message"); ok {
		d.message = c.str1(a)
	}
	if !d.method.dyn {
		if _, err := parseMailto(d.method.s); err != "" {
			c.errorf(n.pargs[0].pos, "notify command: invalid method '"+d.method.s+"': "+err)
		}
	}
	n.data = d
}

// validNotifyOption: name "=" value (RFC 5435 §3.7), the name starting
// with an alphanumeric character, the value free of line breaks.
func validNotifyOption(o string) bool {
	name, value, ok := strings.Cut(o, "=")
	if !ok || name == "" || !(isAlpha(name[0]) && name[0] != '_' || isDigit(name[0])) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isAlpha(name[i]) && !isDigit(name[i]) && strings.IndexByte("-._", name[i]) < 0 {
			return false
		}
	}
	return !strings.ContainsAny(value, "\r\n")
}

// mailtoURI is a parsed mailto: URI (RFC 6068).
type mailtoURI struct {
	to, cc, bcc []string
	headers     [][2]string
	subject     string
	body        string
	hasSubject  bool
}

// parseMailto parses a mailto URI; the error is "" when it is valid.
func parseMailto(s string) (*mailtoURI, string) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return nil, "not a URI"
	}
	if !strings.EqualFold(scheme, "mailto") {
		return nil, "unsupported notification method '" + scheme + "'"
	}
	m := &mailtoURI{}
	if strings.ContainsAny(rest, "<>;\" \\^`{|}") {
		return nil, "invalid character in URI" // RFC 6068 §2: not in the URI syntax
	}
	addrs, query, _ := strings.Cut(rest, "?")
	if err := m.addAddrs(&m.to, addrs); err != "" {
		return nil, err
	}
	if query == "" {
		return m, ""
	}
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		key, err1 := url.PathUnescape(k)
		val, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, "invalid %-encoding"
		}
		switch strings.ToLower(key) {
		case "to":
			if err := m.addAddrs(&m.to, v); err != "" {
				return nil, err
			}
		case "cc":
			if err := m.addAddrs(&m.cc, v); err != "" {
				return nil, err
			}
		case "bcc":
			if err := m.addAddrs(&m.bcc, v); err != "" {
				return nil, err
			}
		case "subject":
			m.subject, m.hasSubject = val, true
		case "body":
			m.body = val
		case "from", "auto-submitted", "received", "message-id", "date", "sender", "reply-to", "mime-version", "content-type", "content-transfer-encoding":
			// RFC 5436 §2.2: unsafe header fields are ignored.
		default:
			if !validFieldName(key) {
				return nil, "invalid header field name '" + key + "'"
			}
			m.headers = append(m.headers, [2]string{key, val})
		}
	}
	return m, ""
}

func (m *mailtoURI) addAddrs(l *[]string, enc string) string {
	if enc == "" {
		return ""
	}
	dec, err := url.PathUnescape(enc)
	if err != nil {
		return "invalid %-encoding"
	}
	for _, a := range strings.Split(dec, ",") {
		a = strings.TrimSpace(a)
		if !validAddress(a) {
			return "invalid recipient '" + a + "'"
		}
		*l = append(*l, addrSpec(a))
	}
	return ""
}

func runValidNotifyMethod(x *exec, n *node) (bool, error) {
	for _, u := range x.expandList(n.data.([]*str)) {
		if _, err := parseMailto(u); err != "" {
			return false, nil
		}
	}
	return true, nil
}

type capData struct{ uri, capability *str }

func checkNotifyCapability(c *checker, n *node) {
	n.data = &capData{uri: c.str1(n.pargs[0]), capability: c.str1(n.pargs[1])}
	n.mt = c.newMatcher(n, n.pargs[2])
}

// runNotifyCapability: mailto's "online" capability is "maybe" (RFC 5436
// §2.6).
func runNotifyCapability(x *exec, n *node) (bool, error) {
	d := n.data.(*capData)
	if _, err := parseMailto(x.expand(d.uri)); err != "" {
		return false, nil
	}
	if !strings.EqualFold(x.expand(d.capability), "online") {
		return false, nil
	}
	return n.mt.match(x, []string{"maybe"})
}

func runNotify(x *exec, n *node) (bool, error) {
	d := n.data.(*notifyData)
	uri := x.expand(d.method)
	m, perr := parseMailto(uri)
	if perr != "" {
		return false, runtimeErr(n, "notify command: invalid method: "+perr)
	}
	if err := x.notifyLimit(n); err != nil {
		return false, err
	}
	for _, v := range x.headerValues([]string{"auto-submitted"}) {
		if !strings.EqualFold(strings.TrimSpace(v), "no") {
			x.res.Log = append(x.res.Log, "notify: not notifying about an automated message")
			return true, nil
		}
	}
	rcpts := x.notifyRecipients(m)
	if len(rcpts) == 0 {
		return true, nil
	}
	m.to, m.cc = keepOnly(m.to, rcpts), keepOnly(m.cc, rcpts)
	return true, x.add(n, Send{Kind: "notify", From: x.in.User, To: rcpts, Message: x.notifyMessage(d, m)})
}

// notifyLimit applies Limits.Notifications (RFC 5435 §3.7 lets a site
// bound the notifications a script sends).
func (x *exec) notifyLimit(n *node) error {
	max := x.limits.Notifications
	switch {
	case max < 0:
		return runtimeErr(n, "notify command: "+notifyProhibited)
	case max == 0:
		max = DefaultNotifications
	}
	if x.count(Send{Kind: "notify"}) >= max {
		return runtimeErr(n, "number of notify actions exceeds policy limit")
	}
	return nil
}

// keepOnly keeps the addresses of l that are in keep, each once.
func keepOnly(l, keep []string) []string {
	var out []string
	for _, a := range l {
		for i, k := range keep {
			if strings.EqualFold(a, k) {
				out = append(out, a)
				keep = append(keep[:i:i], keep[i+1:]...)
				break
			}
		}
	}
	return out
}

func atoiDefault(s string, def int) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return def
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// notifyRecipients lists To, Cc and Bcc without duplicates, also across
// earlier notifications (RFC 5436 §2.3).
func (x *exec) notifyRecipients(m *mailtoURI) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range x.res.Actions {
		if s, ok := a.(Send); ok && s.Kind == "notify" {
			for _, r := range s.To {
				seen[strings.ToLower(r)] = true
			}
		}
	}
	for _, l := range [][]string{m.to, m.cc, m.bcc} {
		for _, r := range l {
			if !seen[strings.ToLower(r)] {
				seen[strings.ToLower(r)] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// notifyMessage composes the notification (RFC 5436 §2.7).
func (x *exec) notifyMessage(d *notifyData, m *mailtoURI) []byte {
	from := x.in.User
	if d.from != nil {
		from = x.expand(d.from)
	}
	if from == "" {
		from = "postmaster"
	}
	subject := m.subject
	if !m.hasSubject {
		if d.message != nil {
			subject = x.expand(d.message)
		} else {
			orig := ""
			if l := x.headerValues([]string{"subject"}); len(l) > 0 {
				orig = l[0]
			}
			subject = "[SIEVE] New mail notification" + strings.Repeat("", len(orig))
		}
	}
	imp := "2"
	if d.importance != nil {
		imp = x.expand(d.importance)
	}
	var b strings.Builder
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from)
	if len(m.to) > 0 {
		hdr("To", strings.Join(m.to, ", "))
	}
	if len(m.cc) > 0 {
		hdr("Cc", strings.Join(m.cc, ", "))
	}
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", x.now().Format(time.RFC1123Z))
	hdr("Auto-Submitted", "auto-notified")
	hdr("X-Sieve", "Facteur")
	switch imp {
	case "1":
		hdr("X-Priority", "1 (Highest)")
		hdr("Importance", "High")
	case "3":
		hdr("X-Priority", "5 (Lowest)")
		hdr("Importance", "Low")
	default:
		hdr("X-Priority", "3 (Normal)")
		hdr("Importance", "Normal")
	}
	for _, h := range m.headers {
		hdr(h[0], mime.QEncoding.Encode("utf-8", h[1]))
	}
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := m.body
	if body == "" && d.message != nil {
		body = x.expand(d.message)
	}
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}
