package message

import "strings"

// baseSubject extracts the base subject of RFC 5256 §2.1 from a decoded
// subject (step 1's RFC 2047 decoding done by the caller). isReply reports
// whether a reply or forward marker was removed: a subj-refwd (step 3), a
// "(fwd)" trailer (step 2) or a subj-fwd (step 6).
func baseSubject(s string) (base string, isReply bool) {
	s = collapseSpace(s) // step 1
	for {
		var r bool
		s, r = trimTrailers(s) // step 2
		isReply = isReply || r
		s, r = trimLeaders(s) // steps 3 to 5
		isReply = isReply || r
		// Step 6: "[fwd:" subject "]".
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s, isReply = s[5:len(s)-1], true
			continue
		}
		return s, isReply
	}
}

// collapseSpace turns tabs and line breaks into spaces and runs of spaces
// into one.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, c := range s {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(c)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// trimTrailers removes subj-trailer ("(fwd)" / WSP) from the end, repeatedly.
func trimTrailers(s string) (string, bool) {
	fwd := false
	for {
		t := strings.TrimRight(s, " \t")
		if n := len(t) - len("(fwd)"); n >= 0 && strings.EqualFold(t[n:], "(fwd)") {
			s, fwd = t[:n], true
			continue
		}
		return t, fwd
	}
}

// trimLeaders implements steps 3 to 5: remove subj-leaders, then one
// subj-blob if something remains, until neither matches.
func trimLeaders(s string) (string, bool) {
	refwd := false
	for {
		rest, ok := cutLeader(s) // step 3
		if ok {
			s, refwd = rest, refwd || !isWSP(s[0])
			continue
		}
		// Step 4 removes one leading subj-blob unless nothing would remain;
		// step 3 then fails again on the remaining blobs, so remove them
		// all at once (keeping the last if only blobs are left).
		n := blobsLen(s)
		if n == 0 {
			return s, refwd
		}
		if strings.TrimLeft(s[n:], " \t") == "" {
			n = lastBlobStart(s)
			if n == 0 {
				return s, refwd
			}
		}
		s = s[n:]
	}
}

// blobsLen is the length of the run of subj-blobs at the start of s.
func blobsLen(s string) int {
	i := 0
	for {
		n, ok := blobLen(s[i:])
		if !ok {
			return i
		}
		i += n
	}
}

// lastBlobStart is where the last of the subj-blobs that make up s starts.
func lastBlobStart(s string) int {
	last := 0
	for i := 0; ; {
		n, ok := blobLen(s[i:])
		if !ok {
			return last
		}
		last, i = i, i+n
	}
}

// cutLeader removes one subj-leader: (*subj-blob subj-refwd) / WSP.
func cutLeader(s string) (string, bool) {
	if s == "" {
		return s, false
	}
	if isWSP(s[0]) {
		return s[1:], true
	}
	i := blobsLen(s)
	n, ok := refwdLen(s[i:])
	if !ok {
		return s, false
	}
	return s[i+n:], true
}

// refwdLen matches subj-refwd: ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
func refwdLen(s string) (int, bool) {
	var i int
	switch {
	case hasPrefixFold(s, "re"):
		i = 2
	case hasPrefixFold(s, "fwd"):
		i = 3
	case hasPrefixFold(s, "fw"):
		i = 2
	default:
		return 0, false
	}
	for i < len(s) && isWSP(s[i]) {
		i++
	}
	if n, ok := blobLen(s[i:]); ok {
		i += n
	}
	if i < len(s) && s[i] == ':' {
		return i + 1, true
	}
	return 0, false
}

// blobLen matches subj-blob: "[" *BLOBCHAR "]" *WSP, where BLOBCHAR is
// anything but '[' and ']'.
func blobLen(s string) (int, bool) {
	if s == "" || s[0] != '[' {
		return 0, false
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return 0, false
	}
	i := end + 2
	for i < len(s) && isWSP(s[i]) {
		i++
	}
	return i, true
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
