package delivery_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/srs"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/testutil/fixture"
)

type fixtureEnv struct {
	t     *testing.T
	store store.Store
	p     *delivery.Pipeline
	accts []store.Account
}

func newFixture(t *testing.T) *fixtureEnv {
	s, accts := fixture.Store(t, t.TempDir())
	return &fixtureEnv{t: t, store: s, p: delivery.New(s, nil), accts: accts}
}

func (f *fixtureEnv) route(addr string) delivery.Route {
	f.t.Helper()
	a, err := mail.ParseAddress(addr)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := f.p.Resolve(context.Background(), a)
	if err != nil {
		f.t.Fatalf("resolve %s: %v", addr, err)
	}
	return r
}

func (f *fixtureEnv) receive(body string) delivery.Received {
	f.t.Helper()
	m, err := f.p.Receive(context.Background(), strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// messages returns the full bytes of the messages in a mailbox of user.
func (f *fixtureEnv) messages(user, mailbox string) []string {
	f.t.Helper()
	ctx := context.Background()
	a, err := f.store.LookupAccount(ctx, user)
	if err != nil {
		f.t.Fatal(err)
	}
	mb, err := f.store.GetMailbox(ctx, a.ID, mailbox)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	msgs, err := f.store.Messages(ctx, mb.ID, true)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for i := range msgs {
		b, err := store.OpenMessage(ctx, f.store.Blobs(), &msgs[i])
		if err != nil {
			f.t.Fatal(err)
		}
		data, _ := io.ReadAll(b)
		b.Close()
		out = append(out, strings.Join(msgs[i].Flags, " ")+"|"+string(data))
	}
	return out
}

const body = "From: s@remote.example\r\nSubject: hi\r\n\r\nHello.\r\n"

func TestResolve(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.AddAlias(ctx, "team@example.test", []string{"alice@example.test", "bob@example.test", "carol@remote.example"}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddAlias(ctx, "loop1@example.test", []string{"loop2@example.test"}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddAlias(ctx, "loop2@example.test", []string{"loop1@example.test"}); err != nil {
		t.Fatal(err)
	}
	r := f.route("team@example.test")
	if len(r.Local) != 2 || !slices.Equal(r.Reached, []string{"alice@example.test", "bob@example.test"}) ||
		!slices.Equal(r.Remote, []string{"carol@remote.example"}) {
		t.Fatalf("alias: %+v", r)
	}
	if r := f.route("Alice+news@example.test"); len(r.Local) != 1 || r.Reached[0] != "alice@example.test" {
		t.Fatalf("+tag: %+v", r)
	}
	a, _ := mail.ParseAddress("loop1@example.test")
	if _, err := f.p.Resolve(ctx, a); !errors.Is(err, mail.ErrAliasLoop) {
		t.Fatalf("loop: %v", err)
	}
	a, _ = mail.ParseAddress("nobody@example.test")
	if _, err := f.p.Resolve(ctx, a); !errors.Is(err, mail.ErrNoSuchUser) {
		t.Fatalf("unknown user: %v", err)
	}
}

// One copy per account however many routes reach it; the envelope's
// headers go before every copy, its mailbox (made when missing) takes
// them, and remote targets are queued in the same delivery.
func TestDeliverCopiesHeadersMailboxAndQueue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.AddAlias(ctx, "team@example.test", []string{"alice@example.test", "carol@remote.example"}); err != nil {
		t.Fatal(err)
	}
	env := delivery.Envelope{From: "s@remote.example", Routes: []delivery.Route{f.route("alice@example.test"), f.route("team@example.test")},
		Headers: "Authentication-Results: mx.example.test; spf=pass\r\n", Mailbox: "Junk"}
	for i, err := range f.p.Deliver(ctx, env, f.receive(body)) {
		if err != nil {
			t.Fatalf("route %d: %v", i, err)
		}
	}
	got := f.messages("alice@example.test", "Junk")
	if len(got) != 1 || got[0] != "|"+env.Headers+body {
		t.Fatalf("Junk holds %q", got)
	}
	if inbox := f.messages("alice@example.test", "INBOX"); len(inbox) != 0 {
		t.Fatalf("INBOX holds %d", len(inbox))
	}
	q, err := f.store.ListQueue(ctx)
	if err != nil || len(q) != 1 || q[0].Recipients[0] != "carol@remote.example" {
		t.Fatalf("queue: %+v %v", q, err)
	}
}

// filter files each account's copy its own way.
type filter struct{ calls []string }

func (f *filter) FilterCopy(ctx context.Context, env *delivery.Envelope, msg delivery.Received, c *delivery.Copy) error {
	f.calls = append(f.calls, c.Account.Address+"<"+c.Reached)
	switch c.Account.Address {
	case "alice@example.test":
		c.Mailbox, c.Flags, c.Headers = "Archive", []string{`\Flagged`}, "X-Filed: archive\r\n"
	case "bob@example.test":
		return errors.New("script error")
	}
	return nil
}

type discard struct{}

func (discard) FilterCopy(ctx context.Context, env *delivery.Envelope, msg delivery.Received, c *delivery.Copy) error {
	c.Discard = c.Account.Address == "alice@example.test" && c.Mailbox == ""
	return nil
}

func TestCopyFilters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	fl := &filter{}
	f.p.SetCopyFilters(fl)
	env := delivery.Envelope{From: "s@remote.example", Routes: []delivery.Route{f.route("alice+x@example.test"), f.route("bob@example.test")},
		Headers: "Authentication-Results: mx.example.test; none\r\n"}
	for _, err := range f.p.Deliver(ctx, env, f.receive(body)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.messages("alice@example.test", "Archive"); len(got) != 1 ||
		got[0] != `\Flagged|`+env.Headers+"X-Filed: archive\r\n"+body {
		t.Fatalf("alice's Archive: %q", got)
	}
	// A failing filter keeps the message in INBOX, as it came.
	if got := f.messages("bob@example.test", "INBOX"); len(got) != 1 || got[0] != "|"+env.Headers+body {
		t.Fatalf("bob's INBOX: %q", got)
	}
	if strings.Join(fl.calls, ",") != "alice@example.test<alice@example.test,bob@example.test<bob@example.test" {
		t.Fatalf("filter calls %v", fl.calls)
	}
	f.p.SetCopyFilters(discard{})
	for _, err := range f.p.Deliver(ctx, delivery.Envelope{Routes: []delivery.Route{f.route("alice@example.test")}}, f.receive(body)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.messages("alice@example.test", "INBOX"); len(got) != 0 {
		t.Fatalf("a discarded copy was stored: %q", got)
	}
}

// Mail from a remote sender forwarded to a remote alias target leaves
// with an SRS sender of the alias's domain; a bounce to it is routed to
// the original sender; a forged SRS address is an unknown user.
func TestSRS(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.p.SetSRS(&srs.Rewriter{Secret: []byte("test secret")})
	if err := f.store.AddAlias(ctx, "fwd@example.test", []string{"carol@remote.example", "alice@example.test"}); err != nil {
		t.Fatal(err)
	}
	deliver := func(from string) {
		t.Helper()
		for _, err := range f.p.Deliver(ctx, delivery.Envelope{From: from, Routes: []delivery.Route{f.route("fwd@example.test")}}, f.receive(body)) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver("s@remote.example")
	deliver("alice@example.test") // one of ours: not rewritten
	q, err := f.store.ListQueue(ctx)
	if err != nil || len(q) != 2 {
		t.Fatalf("queue %+v %v", q, err)
	}
	if !strings.HasPrefix(q[0].Sender, "SRS0=") || !strings.HasSuffix(q[0].Sender, "=remote.example=s@example.test") {
		t.Fatalf("forwarded sender %q", q[0].Sender)
	}
	if q[1].Sender != "alice@example.test" {
		t.Fatalf("local sender rewritten: %q", q[1].Sender)
	}
	r := f.route(q[0].Sender)
	if len(r.Local) != 0 || len(r.Remote) != 1 || r.Remote[0] != "s@remote.example" {
		t.Fatalf("bounce route %+v", r)
	}
	forged, _ := mail.ParseAddress(strings.Replace(q[0].Sender, "=s@", "=mallory@", 1))
	if _, err := f.p.Resolve(ctx, forged); err == nil || mail.AsError(err).Code != 550 {
		t.Fatalf("forged SRS address: %v", err)
	}
}

// postmaster@ every domain is accepted (RFC 5321 §4.5.1): its alias or
// account when there is one, else the configured postmaster, else the
// domain's oldest account.
func TestPostmaster(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.route("PostMaster@example.test")
	if len(r.Local) != 1 || r.Local[0].ID != f.accts[0].ID {
		t.Fatalf("postmaster without an alias: %+v, want the first account %s", r, f.accts[0].Address)
	}
	f.p.SetPostmaster("bob@example.test")
	if r := f.route("postmaster@example.test"); len(r.Local) != 1 || r.Local[0].Address != "bob@example.test" {
		t.Fatalf("configured postmaster: %+v", r)
	}
	if err := f.store.AddAlias(ctx, "postmaster@example.test", []string{"carol@remote.example"}); err != nil {
		t.Fatal(err)
	}
	if r := f.route("postmaster@example.test"); len(r.Local) != 0 || len(r.Remote) != 1 {
		t.Fatalf("postmaster alias: %+v", r)
	}
}
