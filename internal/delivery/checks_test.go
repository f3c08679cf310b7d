package delivery

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"facteur.dev/facteur/internal/mail"
)

// fakeCheck answers every stage with its verdict or error; block makes it
// hang, ignoring its context, until the test ends.
type fakeCheck struct {
	name  string
	v     Verdict
	err   error
	block chan struct{}
	panic bool
	calls *[]string
}

func (f *fakeCheck) Name() string { return f.name }

func (f *fakeCheck) answer(stage string) (Verdict, error) {
	if f.calls != nil {
		*f.calls = append(*f.calls, f.name+":"+stage)
	}
	if f.block != nil {
		<-f.block
	}
	if f.panic {
		panic("boom")
	}
	return f.v, f.err
}

func (f *fakeCheck) Connect(ctx context.Context, c *Conn) (Verdict, error) {
	return f.answer("connect")
}
func (f *fakeCheck) Mail(ctx context.Context, tx *Transaction) (Verdict, error) {
	return f.answer("mail")
}
func (f *fakeCheck) Data(ctx context.Context, tx *Transaction, m *Message) (Verdict, error) {
	return f.answer("data")
}

// heloOnly implements no stage but HELO.
type heloOnly struct{ calls *[]string }

func (h heloOnly) Name() string { return "helo-only" }
func (h heloOnly) Helo(ctx context.Context, c *Conn) (Verdict, error) {
	*h.calls = append(*h.calls, "helo-only:helo")
	return Verdict{}, nil
}

func TestStagesRunInOrderAndStopAtTheFirstReply(t *testing.T) {
	var calls []string
	reject := mail.Errorf(550, [3]int{5, 7, 1}, "refused by b")
	cs := NewChecks("mx.example.test", nil,
		&fakeCheck{name: "a", v: Verdict{Results: []authres.Result{&authres.SPFResult{Value: authres.ResultPass, From: "x@a.test"}},
			Headers: []string{"X-A: 1"}, Score: 1.5}, calls: &calls},
		heloOnly{&calls},
		&fakeCheck{name: "b", v: Verdict{Reply: reject, Folder: "Junk", Score: 2}, calls: &calls},
		&fakeCheck{name: "c", calls: &calls},
	)
	tx := &Transaction{Conn: &Conn{}}
	got := cs.Mail(context.Background(), tx)
	if got != reject {
		t.Fatalf("reply %v, want %v", got, reject)
	}
	if strings.Join(calls, " ") != "a:mail b:mail" {
		t.Fatalf("calls %v", calls)
	}
	if len(tx.Results) != 1 || len(tx.Headers) != 1 || tx.Folder != "Junk" || tx.Score != 3.5 {
		t.Fatalf("recorded %+v", tx)
	}
	calls = nil
	if r := cs.Helo(context.Background(), tx.Conn); r != nil || strings.Join(calls, " ") != "helo-only:helo" {
		t.Fatalf("helo: %v %v", r, calls)
	}
	var nilChecks *Checks
	if r := nilChecks.Data(context.Background(), tx, nil); r != nil {
		t.Fatalf("nil checks replied %v", r)
	}
}

// A check that fails, panics or hangs past its timeout gets 451 4.4.3 by
// default; with AcceptOnError the stage goes on to the next check.
func TestCheckFailurePolicy(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	cases := []*fakeCheck{
		{name: "dnsdown", err: errors.New("dns: i/o timeout")},
		{name: "panics", panic: true},
		{name: "hangs", block: release},
	}
	for _, bad := range cases {
		t.Run(bad.name, func(t *testing.T) {
			var calls []string
			next := &fakeCheck{name: "next", calls: &calls}
			cs := NewChecks("mx.example.test", nil, bad, next)
			cs.SetTimeout(50 * time.Millisecond)
			r := cs.Connect(context.Background(), &Conn{})
			if r == nil || r.Code != 451 || r.Enhanced != [3]int{4, 4, 3} || !strings.Contains(r.Message, bad.name) {
				t.Fatalf("reply %v, want 451 4.4.3 naming %s", r, bad.name)
			}
			if len(calls) != 0 {
				t.Fatalf("the stage went on after a tempfail: %v", calls)
			}
			cs.SetOnError(bad.name, AcceptOnError)
			if r := cs.Connect(context.Background(), &Conn{}); r != nil {
				t.Fatalf("accept policy replied %v", r)
			}
			if len(calls) != 1 {
				t.Fatalf("the next check did not run: %v", calls)
			}
		})
	}
}

func TestParseOnError(t *testing.T) {
	for in, want := range map[string]OnError{"": TempfailOnError, "tempfail": TempfailOnError, "Accept": AcceptOnError} {
		if got, err := ParseOnError(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseOnError("reject"); err == nil {
		t.Error("reject accepted as a policy")
	}
}

func TestAuthenticationResultsField(t *testing.T) {
	cs := NewChecks("mx.example.test", nil)
	tx := &Transaction{}
	if h := cs.AuthenticationResults(tx); h != "" {
		t.Fatalf("no results gave %q", h)
	}
	tx.Results = []authres.Result{
		&authres.SPFResult{Value: authres.ResultPass, From: "alice@a.example"},
		&authres.DKIMResult{Value: authres.ResultFail, Domain: "a.example", Reason: "bad\r\nInjected: yes"},
	}
	got := cs.AuthenticationResults(tx)
	want := "Authentication-Results: mx.example.test;\r\n\tspf=pass smtp.mailfrom=alice@a.example;\r\n\tdkim=fail"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("got\n%q\nwant prefix\n%q", got, want)
	}
	if strings.Count(got, "\r\n") != 2 || strings.Contains(got, "\r\nInjected") {
		t.Fatalf("a value broke the field: %q", got)
	}
	_, results, err := authres.Parse(strings.TrimPrefix(strings.ReplaceAll(got, "\r\n\t", " "), "Authentication-Results: "))
	if err != nil || len(results) != 2 {
		t.Fatalf("our field does not parse back: %v %v", results, err)
	}
}

func TestConnTLSSummary(t *testing.T) {
	if s := (&Conn{}).TLSSummary(); s != "" {
		t.Fatalf("no TLS: %q", s)
	}
}

// A connect check's verified name and results are kept on the Conn, and
// a transaction starts with the results.
func TestConnectRecordsOnConn(t *testing.T) {
	res := &authres.IPRevResult{Value: authres.ResultPass, IP: "192.0.2.1"}
	cs := NewChecks("mx.example.test", nil, &fakeCheck{name: "iprev", v: Verdict{RDNS: "mail.a.example", Results: []authres.Result{res}}})
	conn := &Conn{}
	if r := cs.Connect(context.Background(), conn); r != nil {
		t.Fatal(r)
	}
	if conn.RDNS != "mail.a.example" || len(conn.Results) != 1 {
		t.Fatalf("conn %+v", conn)
	}
	if tx := NewTransaction(conn, "s@a.example", nil); len(tx.Results) != 1 || tx.Results[0] != res {
		t.Fatalf("transaction results %v", tx.Results)
	}
}
