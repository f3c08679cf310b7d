package searchbody

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"facteur.dev/facteur/internal/imapd/imapwire"
	"facteur.dev/facteur/internal/imapd/search"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/sqlite"
)

// corpus is the mailbox every benchmark searches.
type corpus struct {
	st      *sqlite.Store
	mailbox int64
	msgs    []search.Msg
	err     error
}

var (
	once   sync.Once
	shared corpus
)

func messages() int {
	if n, err := strconv.Atoi(os.Getenv("FACTEUR_SEARCH_MESSAGES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// vocabulary is 5,000 pronounceable pseudo-words.
func vocabulary(r *rand.Rand) []string {
	const cons, vows = "bcdfghjklmnprstvz", "aeiou"
	words := make([]string, 5000)
	for i := range words {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteByte(cons[r.IntN(len(cons))])
			b.WriteByte(vows[r.IntN(len(vows))])
		}
		words[i] = b.String()
	}
	return words
}

// makeMessage returns message n: 40 to 400 words of body, the needle
// "quokka" in one message in a hundred, some of them quoted-printable.
func makeMessage(r *rand.Rand, words []string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: User %d <user%d@example.org>\r\nTo: bob@example.test\r\n", n%500, n%500)
	fmt.Fprintf(&b, "Subject: %s %s %s\r\nMessage-ID: <%d@example.org>\r\n", words[r.IntN(len(words))],
		words[r.IntN(len(words))], words[r.IntN(len(words))], n)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n)*time.Minute).Format(time.RFC1123Z))
	qp := n%7 == 0
	if qp {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n")
	}
	b.WriteString("\r\n")
	nw := 40 + r.IntN(360)
	needle := n%100 == 0
	for i := range nw {
		if needle && i == nw/2 {
			b.WriteString("Quokka ")
		}
		b.WriteString(words[r.IntN(len(words))])
		if qp && i%10 == 0 {
			b.WriteString(" caf=C3=A9")
		}
		if i%12 == 11 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func setup(b *testing.B) *corpus {
	once.Do(func() { shared = build(b) })
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return &shared
}

func build(b *testing.B) corpus {
	ctx := context.Background()
	dir := os.Getenv("FACTEUR_SEARCH_CORPUS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "searchbody"); err != nil {
			return corpus{err: err}
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	_, statErr := os.Stat(filepath.Join(dir, "index.db"))
	st, err := sqlite.Open(ctx, dir, sqlite.Options{Owner: true})
	if err != nil {
		return corpus{err: err}
	}
	c := corpus{st: st}
	if os.IsNotExist(statErr) {
		start := time.Now()
		if err := fill(ctx, st, messages()); err != nil {
			return corpus{err: err}
		}
		b.Logf("built %d messages in %v", messages(), time.Since(start).Round(time.Second))
	}
	acct, err := st.LookupAccount(ctx, "bob@example.test")
	if err != nil {
		return corpus{err: err}
	}
	mb, err := st.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		return corpus{err: err}
	}
	c.mailbox = mb.ID
	// The session holds this list for its selected mailbox.
	list, err := st.Messages(ctx, mb.ID, false)
	if err != nil {
		return corpus{err: err}
	}
	for i, m := range list {
		c.msgs = append(c.msgs, search.Msg{Seq: uint32(i + 1), UID: m.UID, Flags: m.Flags, ModSeq: m.ModSeq,
			InternalDate: m.InternalDate, Size: m.Size})
	}
	return c
}

// fill delivers n messages to bob@example.test, 1,000 per call.
func fill(ctx context.Context, st store.Store, n int) error {
	if err := st.AddDomain(ctx, "example.test"); err != nil {
		return err
	}
	acct, err := st.CreateAccount(ctx, store.Account{Address: "bob@example.test", PasswordHash: "x"})
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	words := vocabulary(r)
	for done := 0; done < n; {
		var batch []store.NewMessage
		for ; done < n && len(batch) < 1000; done++ {
			raw := makeMessage(r, words, done)
			w, err := st.Blobs().Create(ctx)
			if err != nil {
				return err
			}
			io.WriteString(w, raw)
			id, size, err := w.Commit()
			if err != nil {
				return err
			}
			p, err := message.Parse(bytes.NewReader([]byte(raw)))
			if err != nil {
				return err
			}
			batch = append(batch, store.NewMessage{AccountID: acct.ID, BlobID: id, Size: size, Parsed: p,
				InternalDate: time.Now()})
		}
		_, errs := st.Deliver(ctx, batch)
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// run parses and runs one SEARCH command line as a session would.
func run(b *testing.B, c *corpus, line string) *search.Result {
	ctx := context.Background()
	d := imapwire.NewDecoder(strings.NewReader(line), nil, imapwire.Limits{})
	d.Tag()
	d.Atom()
	cmd, err := search.Parse(d, search.Search, search.Options{})
	if err != nil {
		b.Fatal(err)
	}
	res, err := cmd.Run(c.msgs, search.Env{Text: func(f store.TextField, needle string) ([]uint32, error) {
		return c.st.SearchText(ctx, c.mailbox, f, needle)
	}})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

func bench(b *testing.B, line string) {
	c := setup(b)
	var n int
	cpu := cpuTime()
	for b.Loop() {
		n = len(run(b, c, line).UIDs())
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(n), "matches")
	b.ReportMetric(float64(len(c.msgs)), "messages")
}

// cpuTime is the process's user and system CPU time. On this shared
// machine wall time varies threefold with the other tenants' load; CPU
// time per operation much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU milliseconds per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// A word in 1% of the messages.
func BenchmarkSearchBodyRare(b *testing.B) { bench(b, "a SEARCH BODY \"quokka\"\r\n") }

// A string in every seventh message, from quoted-printable UTF-8.
func BenchmarkSearchBodyCommon(b *testing.B) { bench(b, "a SEARCH BODY \"café\"\r\n") }

// A string in no message.
func BenchmarkSearchBodyAbsent(b *testing.B) { bench(b, "a SEARCH BODY \"xylophone\"\r\n") }

// Two letters: too short for trigrams, answered by scanning stored text.
func BenchmarkSearchBodyShort(b *testing.B) { bench(b, "a SEARCH BODY \"qu\"\r\n") }

// A header key with a flag.
func BenchmarkSearchFromUnseen(b *testing.B) { bench(b, "a SEARCH FROM \"user42@\" UNSEEN\r\n") }

// benchKeys runs a SORT or THREAD over the whole mailbox, reading the
// keys from the store as a session does (store.KeySource).
func benchKeys(b *testing.B, kind search.Kind, line string) {
	c := setup(b)
	ctx := context.Background()
	d := imapwire.NewDecoder(strings.NewReader(line), nil, imapwire.Limits{})
	d.Tag()
	d.Atom()
	cmd, err := search.Parse(d, kind, search.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cpu := cpuTime()
	defer func() { reportCPU(b, cpu) }()
	for b.Loop() {
		keys, err := c.st.MessageKeys(ctx, c.mailbox, kind == search.Thread)
		if err != nil {
			b.Fatal(err)
		}
		msgs := slices.Clone(c.msgs)
		for i, k := range keys {
			msgs[i].InternalDate = k.InternalDate
			msgs[i].Parsed = &message.Parsed{SentDate: k.SentDate, BaseSubject: k.BaseSubject,
				SubjectIsReply: k.SubjectIsReply, MessageID: k.MessageID, InReplyTo: k.InReplyTo, References: k.References}
		}
		if _, err := cmd.Run(msgs, search.Env{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSortDate(b *testing.B) {
	benchKeys(b, search.Sort, "a SORT (REVERSE DATE) UTF-8 ALL\r\n")
}

func BenchmarkThreadReferences(b *testing.B) {
	benchKeys(b, search.Thread, "a THREAD REFERENCES UTF-8 ALL\r\n")
}
