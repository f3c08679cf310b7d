package sieve

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func compile(t *testing.T, src string) *Script {
	t.Helper()
	s, err := Compile([]byte(src), nil)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return s
}

const testMsg = "From: Alice <alice@example.org>\r\nTo: bob+tag@example.com\r\nSubject: =?utf-8?q?Caf=C3=A9?= talk\r\nMessage-ID: <1@example.org>\r\n\r\nHello there.\r\n"

func run(t *testing.T, s *Script, msg string, l Limits) (*Result, error) {
	t.Helper()
	in := &Input{Message: strings.NewReader(msg), Size: int64(len(msg)), Envelope: Envelope{From: "alice@example.org", To: "bob+tag@example.com"},
		User: "bob@example.com", Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), SpamPercent: -1, Limits: l}
	return s.Run(context.Background(), in)
}

func actionNames(r *Result) string {
	var l []string
	for _, a := range r.Actions {
		l = append(l, actionName(a))
	}
	return strings.Join(l, ",")
}

func TestCompileErrorPosition(t *testing.T) {
	_, err := Compile([]byte("keep;\n  frobnicate;\n"), nil)
	var el ErrorList
	if !errors.As(err, &el) || len(el) != 1 {
		t.Fatalf("err = %v", err)
	}
	if el[0].Line != 2 || el[0].Column != 3 || !strings.Contains(el[0].Msg, "frobnicate") {
		t.Errorf("error = %+v", el[0])
	}
}

func TestUnrequiredExtension(t *testing.T) {
	if _, err := Compile([]byte(`fileinto "x";`), nil); err == nil {
		t.Error("fileinto without require compiled")
	}
	if _, err := Compile([]byte(`require "nonsense";`), nil); err == nil {
		t.Error("unknown extension compiled")
	}
	if _, err := Compile([]byte(`require "fileinto";`), &CompileOptions{Extensions: []string{"envelope"}}); err == nil {
		t.Error("extension outside CompileOptions.Extensions compiled")
	}
}

func TestDeepNesting(t *testing.T) {
	const n = 10000
	for name, src := range map[string]string{
		"blocks": strings.Repeat("if true {", n) + strings.Repeat("}", n),
		"not":    "if " + strings.Repeat("not ", n) + "true { keep; }",
		"anyof":  "if " + strings.Repeat("anyof(", n) + "true" + strings.Repeat(")", n) + " { keep; }",
		"open":   strings.Repeat("[", n) + strings.Repeat("(", n),
	} {
		if _, err := Compile([]byte(src), nil); err == nil {
			t.Errorf("%s: %d-deep nesting compiled", name, n)
		}
	}
}

func TestMaxSize(t *testing.T) {
	big := strings.Repeat("keep; # padding padding padding\n", (1<<20)/33)
	if _, err := Compile([]byte(big), nil); err != nil {
		t.Errorf("1 MiB script: %v", err)
	}
	if _, err := Compile([]byte(big+big), nil); err == nil {
		t.Error("2 MiB script compiled under the default limit")
	}
	if _, err := Compile([]byte("keep;"), &CompileOptions{MaxSize: 3}); err == nil {
		t.Error("script over MaxSize compiled")
	}
}

func TestManyRedirectsFail(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString(`redirect "u` + itoa(i) + `@example.net";` + "\n")
	}
	_, err := run(t, compile(t, b.String()), testMsg, Limits{})
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("1,000 redirects: err = %v", err)
	}
}

func TestStepLimit(t *testing.T) {
	src := strings.Repeat(`if header :contains "subject" "nothing" { keep; }`+"\n", 5000)
	_, err := run(t, compile(t, src), testMsg, Limits{Steps: 1000})
	if err == nil || !strings.Contains(err.Error(), "step limit") {
		t.Errorf("err = %v", err)
	}
}

func TestPathologicalRegex(t *testing.T) {
	s := compile(t, `require "regex"; if header :regex "subject" "(a*)*(a|b)*$c" { discard; }`)
	msg := "Subject: " + strings.Repeat("a", 100000) + "\r\n\r\n"
	start := time.Now()
	r, err := run(t, s, msg, Limits{})
	if err != nil || actionNames(r) != "keep" {
		t.Fatalf("%v %v", r, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("regex took %v", d)
	}
}

func TestEditheaderManyHeaders(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 10000; i++ {
		b.WriteString("X-Spam-Rule: r" + itoa(i) + "\r\n")
	}
	msg := b.String() + "Subject: x\r\n\r\nbody\r\n"
	s := compile(t, `require "editheader"; deleteheader "x-spam-rule"; addheader "X-Clean" "yes";`)
	r, err := run(t, s, msg, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	k := r.Actions[0].(Keep)
	if !bytes.HasPrefix(k.Header, []byte("X-Clean: yes\r\nSubject: x\r\n")) {
		t.Errorf("header = %.80q", k.Header)
	}
	many := strings.Repeat(`addheader "X-A" "b";`, 100)
	if _, err := run(t, compile(t, `require "editheader";`+many), msg, Limits{}); err == nil {
		t.Error("100 header edits passed the default limit of 64")
	}
}

func TestImplicitKeep(t *testing.T) {
	for src, want := range map[string]string{
		`keep;`:                             "keep",
		`require "fileinto"; fileinto "A";`: "store",
		`require ["fileinto","copy"]; fileinto :copy "A";`:    "store,keep",
		`require "fileinto"; fileinto "A"; fileinto "A";`:     "store",
		`redirect "a@example.net"; redirect "a@example.net";`: "redirect",
		`discard;`: "",
		`if address :is :user "to" "bob" { stop; } discard;`:               "keep",
		`if address :detail "to" "tag" { discard; }`:                       "keep",
		`require "subaddress"; if address :detail "to" "tag" { discard; }`: "",
		`if header :matches "subject" "Caf? *" { discard; }`:               "",
		`if anyof(size :over 1M, exists "x-nope") { discard; }`:            "keep",
	} {
		s, err := Compile([]byte(src), nil)
		if err != nil {
			if want == "keep" {
				continue // :detail without subaddress must not compile
			}
			t.Errorf("%s: %v", src, err)
			continue
		}
		r, err := run(t, s, testMsg, Limits{})
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := actionNames(r); got != want {
			t.Errorf("%s: actions %q, want %q", src, got, want)
		}
	}
}

func TestRejectConflicts(t *testing.T) {
	s := compile(t, `require ["reject","fileinto"]; fileinto "A"; reject "no";`)
	if _, err := run(t, s, testMsg, Limits{}); err == nil {
		t.Error("reject after fileinto did not fail")
	}
}

func TestVacation(t *testing.T) {
	s := compile(t, `require "vacation"; vacation :days 3 "Away.";`)
	msg := "From: alice@example.org\r\nTo: bob@example.com\r\nSubject: hi\r\nMessage-ID: <m1@x>\r\n\r\nhello\r\n"
	r, err := run(t, s, msg, Limits{})
	if err != nil || len(r.Actions) != 2 {
		t.Fatalf("%v %v", r, err)
	}
	v := r.Actions[0].(Send)
	if v.From != "" || v.To[0] != "alice@example.org" || !bytes.Contains(v.Message, []byte("Subject: Auto: hi\r\n")) ||
		!bytes.Contains(v.Message, []byte("In-Reply-To: <m1@x>")) || !bytes.Contains(v.Message, []byte("Auto-Submitted: auto-replied")) {
		t.Errorf("vacation = %+v\n%s", v, v.Message)
	}
	if len(r.Remember) != 1 || !r.Remember[0].Expires.Equal(time.Date(2026, 1, 5, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("remember = %+v", r.Remember)
	}
	list := strings.Replace(msg, "Subject: hi", "Subject: hi\r\nList-Id: <l.example.org>", 1)
	r, _ = run(t, s, list, Limits{})
	if v, ok := r.Actions[0].(Send); len(r.Actions) != 2 || !ok || v.Suppressed == "" || v.Message != nil || len(r.Remember) != 0 {
		t.Errorf("vacation answered a list message: %v", actionNames(r))
	}
}

func TestExtensionsListed(t *testing.T) {
	got := strings.Join(Extensions(), " ")
	for _, e := range []string{"fileinto", "variables", "vacation", "include", "enotify"} {
		if !strings.Contains(got, e) {
			t.Errorf("Extensions() lacks %s: %s", e, got)
		}
	}
}

func FuzzCompile(f *testing.F) {
	f.Add([]byte(`require ["fileinto", "variables"]; if header :matches "subject" "*x*" { fileinto "${1}"; } else { keep; }`))
	f.Add([]byte("text:\r\n..a\r\n.\r\n"))
	f.Add([]byte(`if anyof(not true, size :over 10K) { /* c */ stop; } # x`))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Compile(src, nil)
		if err == nil && s == nil {
			t.Fatal("nil script without error")
		}
		if err != nil {
			for _, e := range err.(ErrorList) {
				if e.Line < 1 || e.Column < 1 {
					t.Fatalf("bad position %+v", e)
				}
			}
		}
	})
}

func FuzzRun(f *testing.F) {
	f.Add([]byte(`require ["variables","editheader","body","regex"]; if body :regex "h(.)" { set "a" "${1}"; addheader "X" "${a}"; } deleteheader "to";`), []byte(testMsg))
	f.Add([]byte(`require ["vacation","date","relational"]; if date :value "ge" "date" "year" "2000" { vacation "x"; }`), []byte("Date: Mon, 20 Jul 2009 21:44:43 +0300\r\n\r\n"))
	f.Add([]byte(`require ["body","mime","foreverypart"]; foreverypart { if body :content "multipart" :contains "p" { stop; } }`),
		[]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\np\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n--b--\r\ne\r\n"))
	f.Fuzz(func(t *testing.T, src, msg []byte) {
		s, err := Compile(src, nil)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		in := &Input{Message: bytes.NewReader(msg), Size: int64(len(msg)), Envelope: Envelope{From: "a@b.c", To: "d@e.f"}, SpamPercent: -1}
		if _, err := s.Run(ctx, in); err != nil && ctx.Err() != nil {
			t.Fatal("run did not end in time")
		}
	})
}

func TestConcurrentRuns(t *testing.T) {
	s := compile(t, `require ["variables","fileinto","imap4flags","regex","editheader"];
if header :regex "subject" "^(.*) talk$" { set "s" "${1}"; addflag "\\Seen"; addheader "X-S" "${s}"; fileinto "${s}"; }`)
	done := make(chan string)
	for i := 0; i < 8; i++ {
		go func() {
			r, err := run(t, s, testMsg, Limits{})
			if err != nil {
				done <- err.Error()
				return
			}
			done <- r.Actions[0].(FileInto).Mailbox
		}()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; got != "Café" {
			t.Errorf("run %d: %q", i, got)
		}
	}
}

// folders are the mailboxes of a result's fileinto actions.
func folders(r *Result) string {
	var l []string
	for _, a := range r.Actions {
		if f, ok := a.(FileInto); ok {
			l = append(l, f.Mailbox)
		}
	}
	return strings.Join(l, ",")
}

func TestBodyNestedParts(t *testing.T) {
	msg := "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\nprologue text\r\n--b\r\n" +
		"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--b--\r\nepilogue text\r\n"
	s := compile(t, `require ["body", "fileinto"];
if body :content "text/plain" :contains "inner body" { fileinto "nested"; }
if body :content "message/rfc822" :contains "Subject: inner" { if not body :content "message/rfc822" :contains "inner body" { fileinto "header"; } }
if body :content "multipart" :contains "prologue" { fileinto "prologue"; }
if body :content "multipart" :contains "epilogue" { fileinto "epilogue"; }
if body :content "multipart" :contains "--b" { fileinto "boundary"; }`)
	r, err := run(t, s, msg, Limits{})
	if err != nil || folders(r) != "nested,header,prologue,epilogue" {
		t.Errorf("RFC 5173 §5.2 parts: %v %v", folders(r), err)
	}
}

func TestVariableSizeCutsWholeEscapes(t *testing.T) {
	s := compile(t, `require ["variables", "enotify", "fileinto"];
set :encodeurl "a" "@@@@";
set :quotewildcard "b" "*****";
if string :is "${a}" "%40%40%40" { fileinto "a"; }
if string :is "${b}" "\\*\\*\\*\\*" { fileinto "b"; }`)
	r, err := run(t, s, testMsg, Limits{VariableSize: 9})
	if err != nil || folders(r) != "a,b" {
		t.Errorf("cut values: %v %v", folders(r), err)
	}
}

func TestNotifyLimits(t *testing.T) {
	src := []byte(`require "enotify"; notify "mailto:a@example.org";`)
	if _, err := Compile(src, &CompileOptions{NoNotify: true}); err == nil {
		t.Error("NoNotify: notify compiled")
	}
	s := compile(t, string(src))
	if _, err := run(t, s, testMsg, Limits{Notifications: -1}); err == nil {
		t.Error("Notifications -1: notify ran")
	}
}

func TestMetadataWithoutStore(t *testing.T) {
	s := compile(t, `require ["mboxmetadata", "servermetadata", "fileinto"];
if metadataexists "INBOX" "/private/comment" { fileinto "a"; }
if servermetadata :contains "/shared/admin" "" { fileinto "b"; }`)
	r, err := run(t, s, testMsg, Limits{})
	if err != nil || folders(r) != "" {
		t.Errorf("no Input.Metadata: %v %v", folders(r), err)
	}
}
