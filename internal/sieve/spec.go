package sieve

import "strings"

// argType is the type a positional argument or a tag's parameter has.
type argType int

const (
	pNone argType = iota
	pString
	pList // a string list; a single string is a list of one
	pNumber
)

func (t argType) String() string {
	switch t {
	case pString:
		return "a string"
	case pList:
		return "a string list"
	case pNumber:
		return "a number"
	}
	return "nothing"
}

// posArg is a positional argument of a command or test.
type posArg struct {
	typ  argType
	name string
}

// tagSpec is a tagged argument: its parameter, the extension it needs
// and its group (two tags of one group exclude each other).
type tagSpec struct {
	name  string
	param argType
	ext   string
	group string
}

// spec describes one command or test: the arguments it takes, what it
// needs, and how it runs.
type spec struct {
	name  string
	ext   string // the extension that must be required; "" for RFC 5228's
	test  bool
	tags  []tagSpec
	match bool // takes :comparator and match types (RFC 5228 §2.7.1)
	addr  bool // takes address parts (RFC 5228 §2.7.4)
	pos   []posArg
	opt   int // how many leading positional arguments may be left out
	block bool
	tests int // 0, 1, or -1 for a test list
	check func(c *checker, n *node)
	run   func(x *exec, n *node) (bool, error)
}

func (s *spec) kind() string {
	if s.test {
		return "test"
	}
	return "command"
}

// extension is a Sieve extension: its capability and what it adds. The
// table of extensions is extensions().
type extension struct {
	name  string
	specs []*spec
	// implied extensions, required along with this one.
	implies []string
}

// extensions is the table of every extension this package supports.
// Each extension's file defines its function; adding one is a new line.
func extensions() []*extension {
	return []*extension{
		coreExtension(),
		{name: "fileinto", specs: fileintoSpecs()},
		{name: "envelope", specs: envelopeSpecs()},
		{name: "encoded-character"},
		{name: "comparator-i;octet"},
		{name: "comparator-i;ascii-casemap"},
		{name: "comparator-i;ascii-numeric"},
		{name: "comparator-i;unicode-casemap"},
		{name: "reject", specs: rejectSpecs()},
		{name: "ereject", specs: erejectSpecs()},
		{name: "variables", specs: variablesSpecs()},
		{name: "relational"},
		{name: "subaddress"},
		{name: "copy"},
		{name: "regex"},
		{name: "imap4flags", specs: imap4flagsSpecs()},
		{name: "body", specs: bodySpecs()},
		{name: "mailbox", specs: mailboxSpecs()},
		{name: "environment", specs: environmentSpecs()},
		{name: "index"},
		{name: "date", specs: dateSpecs()},
		{name: "spamtest", specs: spamtestSpecs()},
		{name: "spamtestplus", implies: []string{"spamtest"}},
		{name: "virustest", specs: virustestSpecs()},
		{name: "ihave", specs: ihaveSpecs()},
		{name: "editheader", specs: editheaderSpecs()},
		{name: "vacation", specs: vacationSpecs()},
		{name: "vacation-seconds", implies: []string{"vacation"}},
		{name: "duplicate", specs: duplicateSpecs()},
		{name: "include", specs: includeSpecs()},
		{name: "enotify", specs: enotifySpecs()},
		{name: "mime"},
		{name: "special-use", specs: specialUseSpecs()},
		{name: "mailboxid", specs: mailboxIDSpecs()},
		{name: "mboxmetadata", specs: mboxMetadataSpecs()},
		{name: "servermetadata", specs: serverMetadataSpecs()},
		{name: "fcc"},
		{name: "extlists", specs: extlistsSpecs()},
		{name: "foreverypart", specs: foreverypartSpecs()},
		{name: "extracttext", specs: extracttextSpecs()},
	}
}

// Extensions returns the capability strings of every supported
// extension, for "require" and ManageSieve's SIEVE capability.
func Extensions() []string {
	var l []string
	for _, e := range extensions() {
		if e.name != "" {
			l = append(l, e.name)
		}
	}
	return l
}

// registry is the set of commands and tests one compilation knows.
type registry struct {
	exts     map[string]*extension
	commands map[string]*spec
	tests    map[string]*spec
}

func newRegistry(extra []*extension) *registry {
	r := &registry{exts: map[string]*extension{}, commands: map[string]*spec{}, tests: map[string]*spec{}}
	for _, e := range append(extensions(), extra...) {
		r.exts[e.name] = e
		for _, s := range e.specs {
			if s.ext == "" && e.name != "" {
				s.ext = e.name
			}
			if s.test {
				r.tests[s.name] = s
			} else {
				r.commands[s.name] = s
			}
		}
	}
	return r
}

func isComparatorExt(name string) bool { return strings.HasPrefix(name, "comparator-") }
