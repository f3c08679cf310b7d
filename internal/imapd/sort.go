package imapd

import "facteur.dev/facteur/internal/imapd/search"

// SORT and UID SORT (RFC 5256 §3), with SORT=DISPLAY (RFC 5957) and ESORT
// (RFC 5267 §3); package search does the work (search.go).
//
// The commands are added to the table session.go builds; init functions
// run in file-name order, so session.go's has run.
func init() {
	commands["SORT"] = handler{stateSelected, (*session).sortCmd, true}
	commands["UID SORT"] = handler{stateSelected, (*session).sortCmd, true}
	extensions = append(extensions, "SORT", "SORT=DISPLAY", "ESORT")
}

func (s *session) sortCmd(c *cmd) error { return s.runSearch(c, search.Sort) }
