package imapd

import "facteur.dev/facteur/internal/imapd/search"

// THREAD and UID THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES;
// package search does the work (search.go). Registered like SORT
// (sort.go).
func init() {
	commands["THREAD"] = handler{stateSelected, (*session).threadCmd, true}
	commands["UID THREAD"] = handler{stateSelected, (*session).threadCmd, true}
	extensions = append(extensions, "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES")
}

func (s *session) threadCmd(c *cmd) error { return s.runSearch(c, search.Thread) }
