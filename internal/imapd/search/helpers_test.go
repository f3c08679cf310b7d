package search

import (
	"strings"
	"testing"

	"facteur.dev/facteur/internal/imapd/imapwire"
)

// parseLine parses "TAG CMD args\r\n" as a client would send it; cmd
// picks the kind from the command name.
func parseLine(t testing.TB, line string) (*Command, error) {
	t.Helper()
	d := imapwire.NewDecoder(strings.NewReader(line), nil, imapwire.Limits{})
	if _, err := d.Tag(); err != nil {
		return nil, err
	}
	name, err := d.Atom()
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(name, "UID") {
		if err := d.SP(); err != nil {
			return nil, err
		}
		if name, err = d.Atom(); err != nil {
			return nil, err
		}
	}
	kind := Search
	switch strings.ToUpper(name) {
	case "SORT":
		kind = Sort
	case "THREAD":
		kind = Thread
	}
	c, err := Parse(d, kind, Options{})
	if err != nil {
		return nil, err
	}
	return c, d.CRLF()
}

func mustParse(t testing.TB, line string) *Command {
	t.Helper()
	c, err := parseLine(t, line)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return c
}
