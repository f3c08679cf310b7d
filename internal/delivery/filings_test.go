package delivery_test

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
	"facteur.dev/facteur/internal/srs"
)

// filterFunc is a CopyFilter from a function.
type filterFunc func(c *delivery.Copy)

func (f filterFunc) FilterCopy(ctx context.Context, env *delivery.Envelope, msg delivery.Received, c *delivery.Copy) error {
	f(c)
	return nil
}

// queued returns the queue's rows as "sender>rcpt,rcpt" and their bytes.
func (f *fixtureEnv) queued() ([]string, []string) {
	f.t.Helper()
	ctx := context.Background()
	q, err := f.store.ListQueue(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	var rows, data []string
	for _, m := range q {
		rows = append(rows, m.Sender+">"+strings.Join(m.Recipients, ","))
		b, err := f.store.Blobs().Open(ctx, m.BlobID)
		if err != nil {
			f.t.Fatal(err)
		}
		d, _ := io.ReadAll(b)
		b.Close()
		data = append(data, m.Headers+string(d))
	}
	return rows, data
}

func (f *fixtureEnv) deliver(env delivery.Envelope) []error {
	return f.p.Deliver(context.Background(), env, f.receive(body))
}

// A filter files more copies, redirects to a local and a remote address
// (the local one delivered in the same commit, through its owner's
// filter; the remote one queued with SRS) and sends a reply with the null
// sender; its Delivered hook runs once all is stored.
func TestFilingsForwardsAndSends(t *testing.T) {
	f := newFixture(t)
	f.p.SetSRS(&srs.Rewriter{Secret: []byte("k")})
	delivered := 0
	var seenBob []string
	f.p.SetCopyFilters(filterFunc(func(c *delivery.Copy) {
		switch c.Account.Address {
		case "alice@example.test":
			c.Flags = []string{`\Seen`}
			c.Also = []delivery.Filing{{Mailbox: "Lists/Go", Flags: []string{`\Flagged`}}}
			c.Forward = []delivery.Forward{{To: "bob@example.test"}, {To: "carol@remote.example"}}
			c.Send = []delivery.Outgoing{{To: []string{"s@remote.example"}, Message: []byte("From: alice@example.test\r\nSubject: Auto: hi\r\n\r\naway\r\n")}}
			c.Delivered = func(context.Context) { delivered++ }
		case "bob@example.test":
			seenBob = append(seenBob, c.Reached)
			c.Mailbox = "From-Alice"
		}
	}))
	for _, err := range f.deliver(delivery.Envelope{From: "s@remote.example", Routes: []delivery.Route{f.route("alice@example.test")}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.messages("alice@example.test", "INBOX"); !slices.Equal(got, []string{`\Seen|` + body}) {
		t.Fatalf("alice's INBOX %q", got)
	}
	if got := f.messages("alice@example.test", "Lists/Go"); !slices.Equal(got, []string{`\Flagged|` + body}) {
		t.Fatalf("alice's Lists/Go %q", got)
	}
	if got := f.messages("bob@example.test", "From-Alice"); len(got) != 1 || !slices.Equal(seenBob, []string{"bob@example.test"}) {
		t.Fatalf("bob's copy %q, his filter saw %v", got, seenBob)
	}
	rows, data := f.queued()
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "SRS0=") || !strings.HasSuffix(rows[0], "@example.test>carol@remote.example") ||
		rows[1] != ">s@remote.example" || !strings.Contains(data[1], "Subject: Auto: hi") {
		t.Fatalf("queue %q", rows)
	}
	if delivered != 1 {
		t.Fatalf("Delivered ran %d times", delivered)
	}
}

// Two accounts that redirect to each other (or one to itself): each
// filter runs once, and the account the loop comes back to keeps the
// message; nothing is queued.
func TestRedirectLoopEnds(t *testing.T) {
	f := newFixture(t)
	calls := 0
	f.p.SetCopyFilters(filterFunc(func(c *delivery.Copy) {
		calls++
		other := map[string]string{"alice@example.test": "bob@example.test", "bob@example.test": "alice@example.test"}[c.Account.Address]
		c.Discard, c.Forward = true, []delivery.Forward{{To: other}}
	}))
	for _, err := range f.deliver(delivery.Envelope{From: "s@remote.example", Routes: []delivery.Route{f.route("alice@example.test")}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if calls != 2 {
		t.Fatalf("filters ran %d times", calls)
	}
	if rows, _ := f.queued(); len(rows) != 0 {
		t.Fatalf("queued %q", rows)
	}
	if got := f.messages("alice@example.test", "INBOX"); len(got) != 1 {
		t.Fatalf("the loop lost the message: alice has %q", got)
	}
	f.p.SetCopyFilters(filterFunc(func(c *delivery.Copy) {
		c.Discard, c.Forward = true, []delivery.Forward{{To: c.Account.Address}}
	}))
	for _, err := range f.deliver(delivery.Envelope{From: "s@remote.example", Routes: []delivery.Route{f.route("bob@example.test")}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.messages("bob@example.test", "INBOX"); len(got) != 1 {
		t.Fatalf("a redirect to oneself lost the message: bob has %q", got)
	}
}

// A copy with a header of its own (editheader) is stored with it in place
// of the message's, the body unchanged.
func TestCopyWithOwnHeader(t *testing.T) {
	f := newFixture(t)
	hdr := "X-Edited: yes\r\nSubject: [list] hi\r\n\r\n"
	f.p.SetCopyFilters(filterFunc(func(c *delivery.Copy) { c.Header = []byte(hdr) }))
	for _, err := range f.deliver(delivery.Envelope{From: "s@remote.example", Routes: []delivery.Route{f.route("alice@example.test")},
		Headers: "Authentication-Results: mx.example.test; none\r\n"}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.messages("alice@example.test", "INBOX"); !slices.Equal(got, []string{"|" + hdr + "Hello.\r\n"}) {
		t.Fatalf("INBOX %q", got)
	}
}

// Sieve's reject: the recipient's refusal at SMTP time when every
// recipient refuses or the front-end replies per recipient (LMTP);
// otherwise a bounce to the sender, never to the null sender.
func TestRejections(t *testing.T) {
	reject := filterFunc(func(c *delivery.Copy) {
		if c.Account.Address == "alice@example.test" {
			c.Reject = &delivery.Rejection{Reply: mail.Errorf(550, [3]int{5, 7, 1}, "not wanted"), Bounce: []byte("Subject: Rejected\r\n\r\nnot wanted\r\n")}
		}
	})
	for _, tc := range []struct {
		name         string
		from         string
		rcpts        []string
		perRecipient bool
		errs         []string // per route: "" or the reply's code
		bounces      int
	}{
		{"alone", "s@remote.example", []string{"alice@example.test"}, false, []string{"550"}, 0},
		{"with another over SMTP", "s@remote.example", []string{"alice@example.test", "bob@example.test"}, false, []string{"", ""}, 1},
		{"with another over LMTP", "s@remote.example", []string{"alice@example.test", "bob@example.test"}, true, []string{"550", ""}, 0},
		{"null sender", "", []string{"alice@example.test", "bob@example.test"}, false, []string{"", ""}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.p.SetCopyFilters(reject)
			env := delivery.Envelope{From: tc.from, PerRecipient: tc.perRecipient}
			for _, r := range tc.rcpts {
				env.Routes = append(env.Routes, f.route(r))
			}
			var got []string
			for _, err := range f.deliver(env) {
				code := ""
				if err != nil {
					code = itoa(mail.AsError(err).Code)
				}
				got = append(got, code)
			}
			if !slices.Equal(got, tc.errs) {
				t.Fatalf("replies %q, want %q", got, tc.errs)
			}
			if n := len(f.messages("alice@example.test", "INBOX")); n != 0 {
				t.Fatalf("the refusing account got %d copies", n)
			}
			rows, _ := f.queued()
			if len(rows) != tc.bounces || (tc.bounces > 0 && rows[0] != ">"+tc.from) {
				t.Fatalf("queue %q, want %d bounces", rows, tc.bounces)
			}
			if len(tc.rcpts) > 1 && len(f.messages("bob@example.test", "INBOX")) != 1 {
				t.Fatal("the other recipient got nothing")
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
