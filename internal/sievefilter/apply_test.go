package sievefilter

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/sieve"
	"facteur.dev/facteur/internal/store"
)

type fakeMailboxes struct{}

func (fakeMailboxes) Exists(ctx context.Context, name string) bool { return name == "Spam" }
func (fakeMailboxes) SpecialUse(ctx context.Context, use string) (string, bool) {
	return "Spam", use == `\Junk`
}
func (fakeMailboxes) ByID(ctx context.Context, id string) (string, bool) {
	return "Found", id == "F1-2"
}

// A result becomes the copy: keep and fileinto as filings (the first one
// in place of the copy's mailbox, a :specialuse or :mailboxid resolved),
// invalid flags dropped, redirects, replies with their fcc copy, and
// marks remembered once stored.
func TestApply(t *testing.T) {
	var marked []store.SieveMark
	f := &Filter{Store: markStore{&marked}}
	in := &sieve.Input{Mailboxes: fakeMailboxes{}}
	reply := []byte("Subject: Auto: hi\r\n\r\naway\r\n")
	res := &sieve.Result{
		Actions: []sieve.Action{
			sieve.FileInto{Mailbox: "Lists/Go", Flags: []string{`\Seen`, "$label1", "bad(flag", `\Recent`}},
			sieve.FileInto{Mailbox: "Junk", SpecialUse: `\Junk`},
			sieve.FileInto{Mailbox: "Fallback", MailboxID: "F1-2"},
			sieve.Redirect{Address: "bob@example.test"},
			sieve.Send{Kind: "vacation", To: []string{"s@remote.example"}, Message: reply, Fcc: &sieve.FileInto{Mailbox: "Sent"}},
			sieve.Keep{Flags: []string{`\Flagged`}},
		},
		Remember: []sieve.Mark{{Key: "k", Expires: time.Unix(100, 0)}},
	}
	c := &delivery.Copy{Mailbox: "Quarantine"}
	f.apply(context.Background(), &delivery.Envelope{}, in, res, c)
	if c.Mailbox != "Lists/Go" || !slices.Equal(c.Flags, []string{`\Seen`, "$label1"}) || c.Discard {
		t.Fatalf("first filing: %q %q discard=%v", c.Mailbox, c.Flags, c.Discard)
	}
	var also []string
	for _, a := range c.Also {
		also = append(also, a.Mailbox+"|"+strings.Join(a.Flags, " ")+"|"+string(a.Message))
	}
	want := []string{"Spam||", "Found||", `Quarantine|\Flagged|`, "Sent||" + string(reply)}
	if !slices.Equal(also, want) {
		t.Fatalf("Also %q, want %q", also, want)
	}
	if len(c.Forward) != 1 || c.Forward[0].To != "bob@example.test" || len(c.Send) != 1 || c.Send[0].From != "" {
		t.Fatalf("forward %+v send %+v", c.Forward, c.Send)
	}
	if len(marked) != 0 {
		t.Fatal("marked before the copy was stored")
	}
	c.Delivered(context.Background())
	if len(marked) != 1 || marked[0].Key != "k" {
		t.Fatalf("marked %+v", marked)
	}
}

// Without a keep or a fileinto the copy is discarded; a reject refuses it
// with a one-line ASCII reply.
func TestApplyDiscardAndReject(t *testing.T) {
	f := &Filter{}
	c := &delivery.Copy{}
	f.apply(context.Background(), &delivery.Envelope{}, &sieve.Input{}, &sieve.Result{Actions: []sieve.Action{sieve.Redirect{Address: "x@y.test"}}}, c)
	if !c.Discard {
		t.Fatal("a redirect alone kept the copy")
	}
	c = &delivery.Copy{}
	f.apply(context.Background(), &delivery.Envelope{}, &sieve.Input{}, &sieve.Result{Actions: []sieve.Action{sieve.Reject{Reason: "Not\r\nwanted, café"}}}, c)
	if c.Reject == nil || c.Reject.Reply.Code != 550 || c.Reject.Reply.Message != "Not wanted, caf?" {
		t.Fatalf("reject %+v", c.Reject)
	}
}

type markStore struct{ marks *[]store.SieveMark }

func (m markStore) SieveMarked(context.Context, int64, string, time.Time) (bool, error) {
	return false, nil
}
func (m markStore) MarkSieve(ctx context.Context, _ int64, marks []store.SieveMark) error {
	*m.marks = append(*m.marks, marks...)
	return nil
}
func (markStore) ListMailboxes(context.Context, int64) ([]store.Mailbox, error) { return nil, nil }
func (markStore) Blobs() store.BlobStore                                        { return nil }

type blob struct{ *bytes.Reader }

func (b blob) Size() int64 { return b.Reader.Size() }

// The script reads the header lines added here, then the blob, at any
// offset and in any piece size.
func TestPrefixed(t *testing.T) {
	head, rest := "A: 1\r\n", "B: 2\r\n\r\nbody\r\n"
	p := newPrefixed(head, blob{bytes.NewReader([]byte(rest))})
	whole := head + rest
	if p.Size() != int64(len(whole)) {
		t.Fatalf("size %d", p.Size())
	}
	for off := 0; off <= len(whole); off++ {
		for n := 1; n <= len(whole)-off+1; n++ {
			buf := make([]byte, n)
			got, err := p.ReadAt(buf, int64(off))
			want := min(n, len(whole)-off)
			if got != want || string(buf[:got]) != whole[off:off+want] || (got < n && err != io.EOF) {
				t.Fatalf("ReadAt(%d bytes, %d) = %d %q %v", n, off, got, buf[:got], err)
			}
		}
	}
	if _, err := io.ReadAll(io.NewSectionReader(p, 0, p.Size())); err != nil {
		t.Fatal(err)
	}
}
