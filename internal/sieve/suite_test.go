package sieve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The runner of Pigeonhole's test suite: the vnd.dovecot.testsuite
// extension, an in-memory mail store and outbox.

// suiteSkipped are files that test only Pigeonhole's own extensions or
// its binary format, with why.
var suiteSkipped = map[string]string{
	"extensions/vnd.dovecot/environment/basic.svtest":     "vnd.dovecot.environment is Pigeonhole's own extension",
	"extensions/vnd.dovecot/environment/variables.svtest": "vnd.dovecot.environment is Pigeonhole's own extension",
	"extensions/vnd.dovecot/report/errors.svtest":         "vnd.dovecot.report is Pigeonhole's own extension",
	"extensions/vnd.dovecot/report/execute.svtest":        "vnd.dovecot.report is Pigeonhole's own extension",
	"execute/examples.svtest":                             "compiles ../../examples/*.sieve, which this copy of the suite does not ship",
	"plugins/extprograms/errors.svtest":                   "vnd.dovecot.pipe/filter/execute are Pigeonhole's extprograms plugin",
	"plugins/extprograms/execute/command.svtest":          "vnd.dovecot.execute is Pigeonhole's extprograms plugin",
	"plugins/extprograms/execute/errors.svtest":           "vnd.dovecot.execute is Pigeonhole's extprograms plugin",
	"plugins/extprograms/execute/execute.svtest":          "vnd.dovecot.execute is Pigeonhole's extprograms plugin",
	"plugins/extprograms/filter/command.svtest":           "vnd.dovecot.filter is Pigeonhole's extprograms plugin",
	"plugins/extprograms/filter/errors.svtest":            "vnd.dovecot.filter is Pigeonhole's extprograms plugin",
	"plugins/extprograms/filter/execute.svtest":           "vnd.dovecot.filter is Pigeonhole's extprograms plugin",
	"plugins/extprograms/pipe/command.svtest":             "vnd.dovecot.pipe is Pigeonhole's extprograms plugin",
	"plugins/extprograms/pipe/errors.svtest":              "vnd.dovecot.pipe is Pigeonhole's extprograms plugin",
	"plugins/extprograms/pipe/execute.svtest":             "vnd.dovecot.pipe is Pigeonhole's extprograms plugin",
}

// suitePassing are the files known to pass whole: a regression fails
// the test.
var suitePassing = []string{
	"comparators/i-ascii-casemap.svtest",
	"comparators/i-octet.svtest",
	"comparators/i-unicode-casemap.svtest",
	"compile/compile.svtest",
	"compile/errors.svtest",
	"compile/recover.svtest",
	"compile/warnings.svtest",
	"control-if.svtest",
	"control-stop.svtest",
	"execute/actions.svtest",
	"execute/address-normalize.svtest",
	"execute/errors-cpu-limit.svtest",
	"execute/errors.svtest",
	"execute/mailstore.svtest",
	"extensions/body/basic.svtest",
	"extensions/body/content.svtest",
	"extensions/body/errors.svtest",
	"extensions/body/match-values.svtest",
	"extensions/body/raw.svtest",
	"extensions/body/text.svtest",
	"extensions/date/basic.svtest",
	"extensions/date/date-parts.svtest",
	"extensions/date/zones.svtest",
	"extensions/duplicate/errors.svtest",
	"extensions/duplicate/execute.svtest",
	"extensions/editheader/addheader.svtest",
	"extensions/editheader/alternating.svtest",
	"extensions/editheader/deleteheader.svtest",
	"extensions/editheader/errors.svtest",
	"extensions/editheader/execute.svtest",
	"extensions/editheader/protected.svtest",
	"extensions/editheader/utf8.svtest",
	"extensions/encoded-character.svtest",
	"extensions/enotify/basic.svtest",
	"extensions/enotify/encodeurl.svtest",
	"extensions/enotify/errors.svtest",
	"extensions/enotify/execute.svtest",
	"extensions/enotify/limits.svtest",
	"extensions/enotify/notify_method_capability.svtest",
	"extensions/enotify/valid_notify_method.svtest",
	"extensions/envelope.svtest",
	"extensions/environment/basic.svtest",
	"extensions/environment/rfc.svtest",
	"extensions/extlists/basic.svtest",
	"extensions/extlists/errors.svtest",
	"extensions/extlists/multiple.svtest",
	"extensions/extlists/valid_ext_list.svtest",
	"extensions/ihave/errors.svtest",
	"extensions/ihave/execute.svtest",
	"extensions/ihave/restrictions.svtest",
	"extensions/imap4flags/basic.svtest",
	"extensions/imap4flags/errors.svtest",
	"extensions/imap4flags/execute.svtest",
	"extensions/imap4flags/flagstore.svtest",
	"extensions/imap4flags/flagstring.svtest",
	"extensions/imap4flags/hasflag.svtest",
	"extensions/imap4flags/multiscript.svtest",
	"extensions/include/errors.svtest",
	"extensions/include/execute.svtest",
	"extensions/include/once.svtest",
	"extensions/include/optional.svtest",
	"extensions/include/rfc.svtest",
	"extensions/include/twice.svtest",
	"extensions/include/variables.svtest",
	"extensions/index/basic.svtest",
	"extensions/index/errors.svtest",
	"extensions/mailbox/errors.svtest",
	"extensions/mailbox/execute.svtest",
	"extensions/metadata/errors.svtest",
	"extensions/metadata/execute.svtest",
	"extensions/mime/address.svtest",
	"extensions/mime/calendar-example.svtest",
	"extensions/mime/content-header.svtest",
	"extensions/mime/errors.svtest",
	"extensions/mime/execute.svtest",
	"extensions/mime/exists.svtest",
	"extensions/mime/extracttext.svtest",
	"extensions/mime/foreverypart.svtest",
	"extensions/mime/header.svtest",
	"extensions/regex/basic.svtest",
	"extensions/regex/errors.svtest",
	"extensions/regex/match-values.svtest",
	"extensions/reject/execute.svtest",
	"extensions/reject/smtp.svtest",
	"extensions/relational/basic.svtest",
	"extensions/relational/comparators.svtest",
	"extensions/relational/errors.svtest",
	"extensions/relational/rfc.svtest",
	"extensions/spamvirustest/errors.svtest",
	"extensions/spamvirustest/spamtest.svtest",
	"extensions/spamvirustest/spamtestplus.svtest",
	"extensions/spamvirustest/virustest.svtest",
	"extensions/special-use/errors.svtest",
	"extensions/special-use/execute.svtest",
	"extensions/subaddress/basic.svtest",
	"extensions/subaddress/config.svtest",
	"extensions/subaddress/rfc.svtest",
	"extensions/vacation/errors.svtest",
	"extensions/vacation/execute.svtest",
	"extensions/vacation/message.svtest",
	"extensions/vacation/reply.svtest",
	"extensions/vacation/smtp.svtest",
	"extensions/vacation/utf-8.svtest",
	"extensions/variables/basic.svtest",
	"extensions/variables/errors.svtest",
	"extensions/variables/limits.svtest",
	"extensions/variables/match.svtest",
	"extensions/variables/modifiers.svtest",
	"extensions/variables/quoting.svtest",
	"extensions/variables/regex.svtest",
	"extensions/variables/string.svtest",
	"extensions/vnd.dovecot/debug/execute.svtest",
	"failures/fuzz3.svtest",
	"failures/mailbox-bad-utf8.svtest",
	"lexer.svtest",
	"match-types/contains.svtest",
	"match-types/is.svtest",
	"match-types/matches.svtest",
	"multiscript/basic.svtest",
	"test-allof.svtest",
	"test-anyof.svtest",
	"test-exists.svtest",
	"test-header.svtest",
	"test-size.svtest",
	"testsuite.svtest",
}

func suiteDir(t *testing.T) string {
	if d := os.Getenv("FACTEUR_SIEVE_TESTS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(filepath.Dir(dir), "shared", "sieve-tests", "tests")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Pigeonhole's test suite not found (set FACTEUR_SIEVE_TESTS)")
	}
	t.Skip("Pigeonhole's test suite not found (set FACTEUR_SIEVE_TESTS)")
	return ""
}

var testBlockRe = regexp.MustCompile(`(?m)^\s*test\s+"`)

type fileResult struct {
	name         string
	blocks, pass int
	failures     []string
}

func TestPigeonhole(t *testing.T) {
	root := suiteDir(t)
	var files []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".svtest") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	var results []*fileResult
	whole, blocks, passed := 0, 0, 0
	for _, f := range files {
		r := runSuiteFile(filepath.Join(root, f))
		r.name = f
		results = append(results, r)
		blocks += r.blocks
		passed += r.pass
		if len(r.failures) == 0 {
			whole++
		}
	}
	t.Logf("pigeonhole: %d of %d files pass whole (%d of %d test blocks)", whole, len(files), passed, blocks)
	fmt.Printf("pigeonhole: %d of %d files pass whole (%d of %d test blocks)\n", whole, len(files), passed, blocks)
	known := map[string]bool{}
	for _, f := range suitePassing {
		known[f] = true
	}
	for _, r := range results {
		if len(r.failures) == 0 {
			if !known[r.name] && os.Getenv("SIEVE_SUITE_VERBOSE") != "" {
				fmt.Printf("  newly passing: %s\n", r.name)
			}
			continue
		}
		if why, ok := suiteSkipped[r.name]; ok {
			t.Logf("skipped %s: %s", r.name, why)
			continue
		}
		if os.Getenv("SIEVE_SUITE_VERBOSE") != "" {
			fmt.Printf("FAIL %s (%d of %d blocks)\n", r.name, r.pass, r.blocks)
			for _, f := range r.failures {
				fmt.Printf("    %s\n", f)
			}
		} else {
			t.Logf("FAIL %s (%d of %d blocks): %s", r.name, r.pass, r.blocks, r.failures[0])
		}
		if known[r.name] {
			t.Errorf("regression: %s no longer passes: %s", r.name, r.failures[0])
		}
	}
}

// runSuiteFile runs one .svtest file.
func runSuiteFile(path string) (r *fileResult) {
	r = &fileResult{}
	src, err := os.ReadFile(path)
	if err != nil {
		r.failures = append(r.failures, err.Error())
		return r
	}
	defer func() {
		if p := recover(); p != nil {
			r.failures = append(r.failures, fmt.Sprintf("panic: %v", p))
		}
		if n := len(testBlockRe.FindAll(src, -1)); r.blocks < n {
			r.blocks = n
		}
	}()
	st := newSuiteState(filepath.Dir(path))
	s, err := st.compile(src, filepath.Base(path))
	if err != nil {
		r.failures = append(r.failures, "compile: "+err.Error())
		return r
	}
	st.file = r
	in := st.input()
	x := newExec(context.Background(), s.prog.(*program), in)
	st.main = x
	if err := x.run(); err != nil {
		r.failures = append(r.failures, "run: "+err.Error())
	}
	return r
}

// suiteState is one .svtest file's world.
type suiteState struct {
	dir       string
	file      *fileResult
	main      *exec
	msg       []byte
	env       Envelope
	cfg       map[string]string
	mailboxes map[string][]stored
	outbox    []outMsg
	errs      ErrorList
	metadata  map[[2]string]string // test_imap_metadata_set: mailbox ("" the server's), name
	script    *Script
	scriptSrc string
	// how much of the result test_result_execute has carried out
	executed     int
	keptImplicit bool
	implicitKeep int // index in the result of the last run's implicit keep, -1: none
}

type stored struct {
	msg   []byte
	flags []string
}

type outMsg struct {
	from string
	to   []string
	msg  []byte
}

func newSuiteState(dir string) *suiteState {
	return &suiteState{implicitKeep: -1, dir: dir, cfg: map[string]string{}, metadata: map[[2]string]string{}, mailboxes: map[string][]stored{"INBOX": nil},
		msg: []byte("From: sender@example.com\nTo: recipient@example.org\nSubject: Frop!\n\nFrop!\n"),
		env: Envelope{From: "sender@example.com"}}
}

func (st *suiteState) config(name string) (string, bool) {
	v, ok := st.cfg[name]
	return v, ok
}

func (st *suiteState) compile(src []byte, name string) (*Script, error) {
	opts := &CompileOptions{Name: name, extra: []*extension{testsuiteExtension(), debugExtension()}, Include: st.include,
		MaxIncludes: atoiDefault(st.cfg["sieve_include_max_includes"], 0), MaxIncludeDepth: atoiDefault(st.cfg["sieve_include_max_nesting_depth"], 0),
		MaxHeaderSize: atoiDefault(st.cfg["sieve_editheader_max_header_size"], 0), NoNotify: st.cfg["sieve_notify_max_notifications"] == "0"}
	if st.main != nil {
		// The .svtest file itself configures its lists when it runs.
		opts.Lists = suiteLists{st}
	}
	return Compile(src, opts)
}

func (st *suiteState) include(name string, global bool) ([]byte, error) {
	dir := "included"
	if global {
		dir = "included-global"
	}
	if v, ok := st.cfg["sieve_global"]; ok && global {
		dir = v
	}
	return os.ReadFile(filepath.Join(st.dir, dir, name+".sieve"))
}

func (st *suiteState) input() *Input {
	user := st.cfg["sieve_user_email"]
	var lim Limits
	if d, err := time.ParseDuration(st.cfg["sieve_max_cpu_time"]); err == nil {
		lim.Time = d
	}
	if v, ok := st.cfg["sieve_notify_max_notifications"]; ok {
		lim.Notifications = atoiDefault(v, 0)
		if lim.Notifications == 0 {
			lim.Notifications = -1 // Pigeonhole's 0: notify prohibited
		}
	}
	for _, k := range []string{"sieve_variables_max_value_size", "sieve_variables_max_variable_size"} {
		if v, ok := st.cfg[k]; ok {
			lim.VariableSize = atoiDefault(v, 0)
		}
	}
	spam, virus := st.spam()
	return &Input{Lists: suiteLists{st}, Metadata: suiteMetadata{st}, VacationOrigTo: st.cfg["sieve_vacation_use_original_recipient"] == "yes", Vacation: st.vacationOptions(), Virus: virus, Limits: lim, Message: bytes.NewReader(st.msg), Size: int64(len(st.msg)), Envelope: st.env,
		User: user, Now: time.Now(), SpamPercent: spam, Mailboxes: suiteMailboxes{st}, Memory: suiteMemory{}, hook: st,
		Environment: map[string]string{"domain": "example.org", "host": "localhost", "location": "MS", "name": "Pigeonhole Sieve", // the suite checks for its own name
			"phase": "during", "version": "1"}}
}

// setMessage makes m the message the main script and later runs see.
func (st *suiteState) setMessage(x *exec, m []byte, env *Envelope) {
	st.msg = m
	if env != nil {
		st.env = *env
	}
	x.in = st.input()
	x.limits.VariableSize = x.in.Limits.VariableSize // test_config_reload
	x.msg = newMessage(x.in)
	x.edited = nil
}

type suiteMailboxes struct{ st *suiteState }

func (m suiteMailboxes) Exists(_ context.Context, name string) bool {
	name, _ = mailboxName(name)
	_, ok := m.st.mailboxes[name]
	return ok
}
func (m suiteMailboxes) SpecialUse(context.Context, string) (string, bool) { return "", false }
func (m suiteMailboxes) ByID(context.Context, string) (string, bool)       { return "", false }

// vacationOptions are the sieve_vacation_* settings.
func (st *suiteState) vacationOptions() VacationOptions {
	return VacationOptions{DefaultSubject: st.cfg["sieve_vacation_default_subject"], SubjectTemplate: st.cfg["sieve_vacation_default_subject_template"],
		IgnoreEnvelope: st.cfg["sieve_vacation_to_header_ignore_envelope"] == "yes", FromRecipient: st.cfg["sieve_vacation_send_from_recipient"] == "yes",
		NoRecipientCheck: st.cfg["sieve_vacation_check_recipient"] == "no"}
}

type suiteMetadata struct{ st *suiteState }

func (m suiteMetadata) Metadata(_ context.Context, mailbox, name string) (string, bool) {
	v, ok := m.st.metadata[[2]string{mailbox, name}]
	return v, ok
}

type suiteMemory struct{}

func (suiteMemory) Seen(context.Context, string) (bool, error) { return false, nil }

type testFailure struct{ msg string }

func (f *testFailure) Error() string { return "test_fail: " + f.msg }

func suiteState_(x *exec) *suiteState { return x.hook.(*suiteState) }

// debugExtension is vnd.dovecot.debug, whose debug_log some files use
// beside what they test; its messages are dropped.
func debugExtension() *extension {
	return &extension{name: "vnd.dovecot.debug", specs: []*spec{{name: "debug_log", pos: []posArg{{pString, "message"}}, run: runNothing}}}
}

// testsuiteExtension is vnd.dovecot.testsuite.
func testsuiteExtension() *extension {
	str := []posArg{{pString, "value"}}
	return &extension{name: "vnd.dovecot.testsuite", specs: []*spec{
		{name: "test", pos: []posArg{{pString, "name"}}, block: true, run: runTestBlock},
		{name: "test_fail", pos: str, run: func(x *exec, n *node) (bool, error) {
			return false, &testFailure{x.expandString(n.pargs[0].str())}
		}},
		{name: "test_set", pos: []posArg{{pString, "name"}, {pString, "value"}}, run: runTestSet},
		{name: "test_config_set", pos: []posArg{{pString, "name"}, {pString, "value"}}, run: func(x *exec, n *node) (bool, error) {
			st := suiteState_(x)
			v := strings.ReplaceAll(n.pargs[1].str(), "${tst.path}", st.dir)
			st.cfg[x.expandString(n.pargs[0].str())] = x.expandString(v)
			return true, nil
		}},
		{name: "test_config_unset", pos: str, run: func(x *exec, n *node) (bool, error) {
			delete(suiteState_(x).cfg, x.expandString(n.pargs[0].str()))
			return true, nil
		}},
		{name: "test_config_reload", tags: []tagSpec{{name: "extension", param: pString}}, run: func(x *exec, n *node) (bool, error) {
			st := suiteState_(x)
			st.setMessage(x, st.msg, nil)
			return true, nil
		}},
		{name: "test_result_reset", run: func(x *exec, n *node) (bool, error) {
			x.res = Result{}
			x.keep = true
			x.flags = nil
			x.edited = nil
			st := suiteState_(x)
			st.outbox, st.executed, st.keptImplicit, st.implicitKeep = nil, 0, false, -1
			return true, nil
		}},
		{name: "test_result_print", run: runNothing},
		{name: "test_imap_metadata_set", tags: []tagSpec{{name: "mailbox", param: pString}}, pos: []posArg{{pString, "name"}, {pString, "value"}},
			run: func(x *exec, n *node) (bool, error) {
				k := [2]string{"", x.expandString(n.pargs[0].str())}
				if a, ok := n.tag("mailbox"); ok {
					k[0] = x.expandString(a.str())
				}
				suiteState_(x).metadata[k] = x.expandString(n.pargs[1].str())
				return true, nil
			}},
		{name: "test_binary_save", pos: str, run: runNothing},
		{name: "test_binary_load", pos: str, run: runNothing},
		{name: "test_mailbox_create", pos: str, run: func(x *exec, n *node) (bool, error) {
			st := suiteState_(x)
			name, _ := mailboxName(n.pargs[0].str())
			if _, ok := st.mailboxes[name]; !ok {
				st.mailboxes[name] = nil
			}
			return true, nil
		}},
		{name: "test_script_compile", test: true, pos: str, run: runScriptCompile},
		{name: "test_script_run", test: true, tags: []tagSpec{{name: "append_result"}, {name: "append"}}, run: runScriptRun},
		{name: "test_multiscript", test: true, pos: []posArg{{pList, "scripts"}}, run: runMultiscript},
		{name: "test_result_execute", test: true, run: runResultExecute},
		{name: "test_message", test: true, tags: []tagSpec{{name: "smtp", group: "src"}, {name: "folder", param: pString, group: "src"}},
			pos: []posArg{{pNumber, "index"}}, run: runTestMessage},
		{name: "test_message", tags: []tagSpec{{name: "smtp", group: "src"}, {name: "folder", param: pString, group: "src"}},
			pos: []posArg{{pNumber, "index"}}, run: runTestMessage},
		{name: "test_error", test: true, match: true, tags: []tagSpec{{name: "index", param: pNumber}},
			pos: []posArg{{pList, "key list"}}, check: checkSuiteMatch, run: runTestError},
		{name: "test_result_action", test: true, match: true, tags: []tagSpec{{name: "index", param: pNumber}},
			pos: []posArg{{pList, "key list"}}, check: checkSuiteMatch, run: runTestResultAction},
	}}
}

func checkSuiteMatch(c *checker, n *node) { n.mt = c.newMatcher(n, n.pargs[0]) }

func runTestBlock(x *exec, n *node) (bool, error) {
	st := suiteState_(x)
	name := x.expandString(n.pargs[0].str())
	st.file.blocks++
	// Each test starts with an empty result and outbox.
	x.res, x.keep = Result{}, true
	st.outbox, st.executed, st.keptImplicit, st.implicitKeep = nil, 0, false, -1
	err := x.block(n.block)
	var tf *testFailure
	switch {
	case err == nil || err == errStop:
		st.file.pass++
	case errors.As(err, &tf):
		st.file.failures = append(st.file.failures, fmt.Sprintf("%q: %s", name, tf.msg))
	default:
		st.file.failures = append(st.file.failures, fmt.Sprintf("%q: error: %v", name, err))
	}
	return true, nil
}

func runTestSet(x *exec, n *node) (bool, error) {
	st := suiteState_(x)
	v := x.expandString(n.pargs[1].str())
	env := st.env
	switch x.expandString(n.pargs[0].str()) {
	case "message":
		st.setMessage(x, crlf(v), &Envelope{From: defaultSender(crlf(v))}) // a new message, a new envelope
		return true, nil
	case "envelope.from":
		env.From = v
		if v == "<>" {
			env.From = ""
		}
	case "envelope.to":
		env.To = v
	case "envelope.auth":
		env.Auth = v
	case "envelope.orig_to":
		env.OrigTo = v
	default:
		return true, nil
	}
	st.setMessage(x, st.msg, &env)
	return true, nil
}

func runScriptCompile(x *exec, n *node) (bool, error) {
	st := suiteState_(x)
	path := filepath.Join(st.dir, x.expandString(n.pargs[0].str()))
	st.script, st.errs = nil, nil
	src, err := os.ReadFile(path)
	if err != nil {
		st.errs = ErrorList{{Line: 1, Column: 1, Msg: err.Error()}}
		return false, nil
	}
	// Named by its path: a script of neither storage, whose name no
	// include can reach (RFC 6609 §3.2 names have no "/").
	s, err := st.compile(src, strings.TrimSuffix(x.expandString(n.pargs[0].str()), ".sieve"))
	if err != nil {
		st.errs, _ = err.(ErrorList)
		return false, nil
	}
	st.script = s
	st.errs = s.Warnings()
	return true, nil
}

func runScriptRun(x *exec, n *node) (bool, error) {
	st := suiteState_(x)
	if st.script == nil {
		return false, nil
	}
	res, err := st.script.Run(context.Background(), st.input())
	if err != nil {
		// As a caller must: a failed run keeps the message.
		st.errs = append(st.errs, &Error{Line: 1, Column: 1, Msg: err.Error()})
		x.res, x.keep = Result{}, true
		st.executed, st.keptImplicit = 0, false
		return false, nil
	}
	_, app := n.tag("append_result")
	if _, a2 := n.tag("append"); !app && !a2 {
		x.res = Result{}
		st.executed, st.keptImplicit = 0, false
	}
	st.implicitKeep = -1
	for i, a := range res.Actions {
		if res.ImplicitKeep && i == len(res.Actions)-1 {
			st.implicitKeep = len(x.res.Actions) // not listed, as Pigeonhole's result
		}
		if err := x.add(n, a); err != nil {
			st.errs = append(st.errs, &Error{Line: 1, Column: 1, Msg: err.Error()})
			return false, nil
		}
	}
	x.res.Remember = append(x.res.Remember, res.Remember...)
	for _, l := range res.Log {
		if l != "" && isDigit(l[0]) { // a runtime warning
			st.errs = append(st.errs, &Error{Line: 1, Column: 1, Msg: l})
		}
	}
	x.keep = false
	return true, nil
}

func runMultiscript(x *exec, n *node) (bool, error) {
	st := suiteState_(x)
	var all []Action
	var flags []string // RFC 5232 §3: carried from one script to the next
	cur := st.msg      // the message as the previous script's editheader left it
	for i, p := range n.pargs[0].strs {
		src, err := os.ReadFile(filepath.Join(st.dir, p))
		if err != nil {
			return false, nil
		}
		s, err := st.compile(src, p)
		if err != nil {
			return false, nil
		}
		in := st.input()
		in.Flags = flags
		in.Message, in.Size = bytes.NewReader(cur), int64(len(cur))
		res, err := s.Run(context.Background(), in)
		if err != nil {
			return false, nil
		}
		flags = res.Flags
		acts := res.Actions
		last := i == len(n.pargs[0].strs)-1
		if len(acts) > 0 && !last {
			if k, ok := acts[len(acts)-1].(Keep); ok {
				if k.Header != nil {
					cur = st.withHeader(k.Header)
				}
				acts = acts[:len(acts)-1]
			} else {
				all = append(all, acts...)
				break
			}
		}
		all = append(all, acts...)
	}
	x.res = Result{Actions: all}
	x.keep = false
	return runResultExecute(x, n)
}

// runResultExecute carries out the result into the store and outbox.
func runResultExecute(x *exec, n *node) (bool, error) {
	st := suiteState_(x)
	acts := x.res.Actions[min(st.executed, len(x.res.Actions)):]
	st.executed = len(x.res.Actions)
	if x.keep && !st.keptImplicit {
		st.keptImplicit = true
		acts = append(acts[:len(acts):len(acts)], Keep{Flags: cloneFlags(x.flags), Header: x.editedHeader()})
	}
	for _, a := range acts {
		if msg := st.execute(x, a); msg != "" {
			st.errs = append(st.errs, &Error{Line: 1, Column: 1, Msg: msg})
			// As a delivery must: an action that fails falls back on
			// the implicit keep, of the message as received (RFC 5228
			// §2.10.6).
			st.mailboxes["INBOX"] = append(st.mailboxes["INBOX"], stored{msg: st.msg})
			return false, nil
		}
	}
	return true, nil
}

func (st *suiteState) withHeader(h Edited) []byte {
	if h == nil {
		return st.msg
	}
	_, off := parseHeader(st.msg)
	return append(append([]byte(nil), h...), st.msg[off:]...)
}

// mailboxName is the store's name for a mailbox: "INBOX" in any case is
// the inbox (RFC 3501 §5.1); ok is false for names it refuses.
func mailboxName(n string) (string, bool) {
	if len(n) >= 5 && strings.EqualFold(n[:5], "INBOX") && (len(n) == 5 || n[5] == '.' || n[5] == '/') {
		n = "INBOX" + n[5:]
	}
	return n, n != "" && !strings.Contains(n, "//") && !strings.HasPrefix(n, "/") && !strings.HasSuffix(n, "/")
}

// execute carries out an action in the test store; it returns the error.
func (st *suiteState) execute(x *exec, a Action) string {
	switch a := a.(type) {
	case Keep:
		st.mailboxes["INBOX"] = append(st.mailboxes["INBOX"], stored{st.withHeader(a.Header), storeFlags(a.Flags)})
	case FileInto:
		name, valid := mailboxName(a.Mailbox)
		if !valid {
			return "failed to store into mailbox '" + a.Mailbox + "': invalid mailbox name"
		}
		if _, ok := st.mailboxes[name]; !ok && !a.Create {
			return "failed to store into mailbox '" + a.Mailbox + "': Mailbox doesn't exist: " + a.Mailbox
		}
		st.mailboxes[name] = append(st.mailboxes[name], stored{st.withHeader(a.Header), storeFlags(a.Flags)})
	case Redirect:
		// Pigeonhole's delivery marks redirected messages (loop detection).
		m := append([]byte("X-Sieve-Redirected-From: "+st.env.To+"\r\n"), st.withHeader(a.Header)...)
		st.outbox = append(st.outbox, outMsg{from: st.redirectFrom(), to: []string{a.Address}, msg: m})
	case Reject:
		if st.env.From != "" {
			st.outbox = append(st.outbox, outMsg{from: "", to: []string{st.env.From}, msg: RejectMessage(x.in, a.Reason)})
		}
	case Send:
		if a.Suppressed != "" {
			break // listed in the result, not sent
		}
		for _, to := range a.To {
			st.outbox = append(st.outbox, outMsg{from: a.From, to: []string{to}, msg: a.Message})
		}
	}
	return ""
}

// defaultSender is the envelope sender of a message set without one:
// its Return-Path, or else its From address.
func defaultSender(m []byte) string {
	fields, _ := parseHeader(m)
	for _, name := range []string{"return-path", "from"} {
		for _, f := range fields {
			if strings.EqualFold(f.name, name) {
				if l := parseAddresses(f.value()); len(l) > 0 {
					return l[0]
				}
			}
		}
	}
	return "sender@example.com"
}

// storeFlags adds the keyword Dovecot's store sets on a message without
// attachments, which the suite expects to find.
func storeFlags(f []string) []string {
	return append(cloneFlags(f), "$HasNoAttachment")
}

// redirectFrom is the envelope sender of a redirect, as configured by
// sieve_redirect_envelope_from.
func (st *suiteState) redirectFrom() string {
	if st.env.From == "" {
		return ""
	}
	switch v := st.cfg["sieve_redirect_envelope_from"]; {
	case v == "recipient":
		return st.env.To
	case v == "user_email":
		return st.cfg["sieve_user_email"]
	case v == "orig_recipient":
		return st.env.To
	case strings.HasPrefix(v, "<"):
		return strings.Trim(v, "<>")
	}
	return st.env.From
}

func runTestMessage(x *exec, n *node) (bool, error) {
	st := suiteState_(x)
	idx := int(min(n.pargs[0].num, 1<<20))
	if a, ok := n.tag("folder"); ok {
		name, _ := mailboxName(x.expandString(a.str()))
		box := st.mailboxes[name]
		if idx >= len(box) {
			return false, nil
		}
		st.setMessage(x, box[idx].msg, nil)
		x.flags = cloneFlags(box[idx].flags)
		return true, nil
	}
	if idx >= len(st.outbox) {
		return false, nil
	}
	m := st.outbox[idx]
	env := Envelope{From: m.from, To: strings.Join(m.to, ",")}
	st.setMessage(x, m.msg, &env)
	return true, nil
}

func runTestError(x *exec, n *node) (bool, error) {
	st := suiteState_(x)
	var vals []string
	for _, e := range st.errs {
		vals = append(vals, e.Msg)
	}
	if n.mt.mt == mCount {
		// Pigeonhole counts a final "compilation failed" error too.
		if st.script == nil && len(vals) > 0 {
			vals = append(vals, "")
		}
	}
	return suiteMatch(x, n, vals)
}

func suiteMatch(x *exec, n *node, vals []string) (bool, error) {
	if a, ok := n.tag("index"); ok {
		i := int(min(a.num, 1<<20))
		if i < 1 || i > len(vals) {
			return false, nil
		}
		vals = vals[i-1 : i]
	}
	return n.mt.match(x, vals)
}

func runTestResultAction(x *exec, n *node) (bool, error) {
	var vals []string
	for i, a := range x.res.Actions {
		if i == suiteState_(x).implicitKeep {
			continue
		}
		vals = append(vals, actionName(a))
	}
	return suiteMatch(x, n, vals)
}

var _ = strconv.Itoa

// TestCompileFile compiles the scripts named by $SIEVE_COMPILE (space
// separated) and prints their errors (a debugging aid).
func TestCompileFile(t *testing.T) {
	if os.Getenv("SIEVE_COMPILE") == "" {
		t.Skip("SIEVE_COMPILE not set")
	}
	for _, p := range strings.Fields(os.Getenv("SIEVE_COMPILE")) {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		st := newSuiteState(filepath.Dir(filepath.Dir(p)))
		_, err = st.compile(src, filepath.Base(p))
		var el ErrorList
		errors.As(err, &el)
		fmt.Printf("== %s: %d errors\n", p, len(el))
		for _, e := range el {
			fmt.Printf("   %v\n", e)
		}
	}
}

// crlf gives a message CRLF line ends, as the suite's sizes assume.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
}

// statusHeader reads a "Name" or "Name:regexp" setting's value from the
// message (Pigeonhole's sieve_spamtest/virustest_status_header).
func (st *suiteState) statusHeader(setting string) (string, bool) {
	spec, ok := st.cfg[setting]
	if !ok {
		return "", false
	}
	name, pat, hasPat := strings.Cut(spec, ":")
	fields, _ := parseHeader(st.msg)
	for _, f := range fields {
		if !strings.EqualFold(f.name, strings.TrimSpace(name)) {
			continue
		}
		v := f.value()
		if !hasPat {
			return v, true
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return "", false
		}
		m := re.FindStringSubmatch(f.name + ":" + f.raw)
		if m == nil || len(m) < 2 {
			return "", false
		}
		return m[1], true
	}
	return "", false
}

// scanStatus turns the configured status header into a ratio 0..1, or
// a text value's index; ok is false when the message was not scanned.
func (st *suiteState) scanStatus(prefix string, maxText int) (ratio float64, text int, ok bool) {
	v, ok := st.statusHeader(prefix + "_status_header")
	if !ok {
		return 0, -1, false
	}
	switch st.cfg[prefix+"_status_type"] {
	case "text":
		for i := 0; i <= maxText; i++ {
			if tv, set := st.cfg[prefix+"_text_value/"+strconv.Itoa(i)]; set && strings.EqualFold(tv, strings.TrimSpace(v)) {
				return 0, i, true
			}
		}
		return 0, -1, false
	case "strlen":
		max, _ := strconv.ParseFloat(st.cfg[prefix+"_score_max_value"], 64)
		if max <= 0 {
			return 0, -1, false
		}
		return math.Min(float64(len(strings.TrimSpace(v)))/max, 1), -1, true
	}
	score, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0, -1, false
	}
	max, err := strconv.ParseFloat(st.cfg[prefix+"_score_max_value"], 64)
	if mv, ok := st.statusHeader(prefix + "_score_max_header"); ok {
		max, err = strconv.ParseFloat(mv, 64)
	}
	if err != nil || max <= 0 {
		return 0, -1, false
	}
	return math.Max(0, math.Min(score/max, 1)), -1, true
}

// spam computes Input.SpamPercent and Input.Virus from the message, as
// the delivery's spam and virus checks would.
func (st *suiteState) spam() (percent, virus int) {
	percent = -1
	if r, text, ok := st.scanStatus("sieve_spamtest", 10); ok {
		if text >= 0 {
			percent = text * 10
		} else {
			percent = int(math.Round(r * 100))
		}
	}
	if r, text, ok := st.scanStatus("sieve_virustest", 5); ok {
		if text >= 0 {
			virus = text
		} else {
			virus = 1 + int(r*4)
		}
	}
	return percent, virus
}

// suiteLists are the address books of Pigeonhole's sieve_extlists_list
// settings, read from their dict files (key "priv/sieve/extlists/VALUE").
type suiteLists struct{ st *suiteState }

func (l suiteLists) config(uri string) (string, bool) {
	for _, name := range strings.Fields(l.st.cfg["sieve_extlists_list"]) {
		if u, _ := listURI(name); u == uri {
			return name, true
		}
	}
	return "", false
}

func (l suiteLists) Valid(_ context.Context, uri string) bool {
	_, ok := l.config(uri)
	return ok
}

func (l suiteLists) Contains(_ context.Context, uri, value string) (bool, error) {
	name, ok := l.config(uri)
	if !ok {
		return false, nil
	}
	path := l.st.cfg["sieve_extlists_list/"+name+"/dict/file/path"]
	if path == "" {
		return false, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		if strings.EqualFold(strings.TrimPrefix(lines[i], "priv/sieve/extlists/"), value) {
			return true, nil
		}
	}
	return false, nil
}
