package spf

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// openSPFSuite is where Debian's python3-spf installs the OpenSPF RFC 7208
// test suite; it is read from there, not copied into this repository.
const openSPFSuite = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"

// A suiteScenario is one YAML document of the suite: DNS data and the
// cases run against it.
type suiteScenario struct {
	Description string                 `yaml:"description"`
	Tests       map[string]suiteCase   `yaml:"tests"`
	ZoneData    map[string][]yaml.Node `yaml:"zonedata"`
}

// A suiteCase is one check of the MAIL FROM identity, with the null
// sender meaning postmaster@HELO.
type suiteCase struct {
	Helo        string    `yaml:"helo"`
	Host        string    `yaml:"host"`
	MailFrom    string    `yaml:"mailfrom"`
	Result      oneOrMore `yaml:"result"`      // any of them will do
	Explanation *string   `yaml:"explanation"` // "DEFAULT": no exp= text
}

// oneOrMore is a YAML scalar or a sequence of them.
type oneOrMore []string

func (o *oneOrMore) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*o = []string{n.Value}
		return nil
	}
	return n.Decode((*[]string)(o))
}

// TestOpenSPFSuite runs every case of the OpenSPF RFC 7208 suite against a
// fakeDNS holding the case's zone data. A case this package cannot pass
// belongs in skips, with its reason.
func TestOpenSPFSuite(t *testing.T) {
	t.Parallel()
	scenarios := loadOpenSPFSuite(t)
	skips := map[string]string{} // "scenario/case" → why
	var cases, passed, skipped int
	for _, sc := range scenarios {
		c := &Checker{Resolver: suiteZone(t, sc.ZoneData)}
		t.Run(sc.Description, func(t *testing.T) {
			for _, name := range sortedKeys(sc.Tests) {
				cases++
				if why, ok := skips[sc.Description+"/"+name]; ok {
					skipped++
					t.Run(name, func(t *testing.T) { t.Skip(why) })
					continue
				}
				if t.Run(name, func(t *testing.T) { runSuiteCase(t, c, sc.Tests[name]) }) {
					passed++
				}
			}
		})
	}
	t.Logf("OpenSPF rfc7208: %d cases, %d passed, %d skipped", cases, passed, skipped)
}

func runSuiteCase(t *testing.T, c *Checker, tc suiteCase) {
	ip, err := netip.ParseAddr(tc.Host)
	if err != nil {
		t.Fatalf("host: %v", err)
	}
	got, _ := c.Check(context.Background(), ip, tc.Helo, tc.MailFrom)
	if !slices.Contains(tc.Result, got.Result) {
		t.Errorf("Check(%s, %q, %q) = %s (%s), want %s",
			ip, tc.Helo, tc.MailFrom, got.Result, got.Reason, strings.Join(tc.Result, " or "))
	}
	if tc.Explanation == nil {
		return
	}
	// The suite's driver sets the default explanation to "DEFAULT"; here
	// a fail without exp= text has none.
	want := *tc.Explanation
	if want == "DEFAULT" {
		want = ""
	}
	if got.Explanation != want {
		t.Errorf("explanation %q, want %q", got.Explanation, want)
	}
}

func loadOpenSPFSuite(t *testing.T) []suiteScenario {
	f, err := os.Open(openSPFSuite)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s is missing: apt-get install python3-spf", openSPFSuite)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var scenarios []suiteScenario
	dec := yaml.NewDecoder(zr)
	for {
		var sc suiteScenario
		err := dec.Decode(&sc)
		if err == io.EOF {
			return scenarios
		}
		if err != nil {
			t.Fatalf("%s: %v", openSPFSuite, err)
		}
		scenarios = append(scenarios, sc)
	}
}

// suiteZone builds the DNS of a scenario. Records of type SPF are not
// queried (RFC 7208 §3.1, §4.4); as the suite's own driver does, they
// stand for TXT records of a name that has no TXT entry ("TXT: NONE" is
// one without a record), after that name's other entries.
func suiteZone(t *testing.T, data map[string][]yaml.Node) *fakeDNS {
	d := newFakeDNS()
	for name, entries := range data {
		var spf []fakeRR
		hasTXT := false
		for i := range entries {
			typ, rrs, err := suiteRecords(&entries[i])
			if err != nil {
				t.Fatalf("zone data of %s: %v", name, err)
			}
			hasTXT = hasTXT || typ == "TXT"
			if typ == "SPF" {
				spf = append(spf, rrs...)
				continue
			}
			for _, rr := range rrs {
				d.addRR(name, rr)
			}
		}
		for _, rr := range spf {
			if !hasTXT {
				d.addRR(name, fakeRR{typ: "TXT", data: rr.data})
			}
		}
	}
	return d
}

// suiteRecords decodes one zone entry: "TIMEOUT", or TYPE: value.
func suiteRecords(n *yaml.Node) (string, []fakeRR, error) {
	if n.Kind == yaml.ScalarNode && n.Value == "TIMEOUT" {
		return "TIMEOUT", []fakeRR{{typ: "TIMEOUT"}}, nil
	}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return "", nil, fmt.Errorf("line %d: not TYPE: value", n.Line)
	}
	typ, v := n.Content[0].Value, n.Content[1]
	switch typ {
	case "TXT", "SPF":
		rrs, err := suiteText(typ, v)
		return typ, rrs, err
	case "MX":
		rr, err := suiteMX(v)
		return typ, []fakeRR{rr}, err
	case "A", "AAAA", "PTR", "CNAME":
		return typ, []fakeRR{{typ: typ, data: v.Value}}, nil
	case "TIMEOUT":
		return typ, []fakeRR{{typ: typ}}, nil
	}
	return "", nil, fmt.Errorf("line %d: record type %q", n.Line, typ)
}

// suiteText is a TXT (or SPF) record: a string, or the list of the
// character-strings of one record, which are joined without a separator
// (RFC 7208 §3.3). NONE stands for no record.
func suiteText(typ string, v *yaml.Node) ([]fakeRR, error) {
	if v.Kind == yaml.ScalarNode {
		if v.Value == "NONE" {
			return nil, nil
		}
		return []fakeRR{{typ: typ, data: v.Value}}, nil
	}
	var parts []string
	if err := v.Decode(&parts); err != nil {
		return nil, err
	}
	return []fakeRR{{typ: typ, data: strings.Join(parts, "")}}, nil
}

// suiteMX is [preference, host].
func suiteMX(v *yaml.Node) (fakeRR, error) {
	if v.Kind != yaml.SequenceNode || len(v.Content) != 2 {
		return fakeRR{}, fmt.Errorf("line %d: MX is not [pref, host]", v.Line)
	}
	pref, err := strconv.ParseUint(v.Content[0].Value, 10, 16)
	return fakeRR{typ: "MX", pref: uint16(pref), data: v.Content[1].Value}, err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
