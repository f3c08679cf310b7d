package imapd

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// fill delivers n copies of one small message (one blob) to INBOX, in
// batches, with every third one \Seen.
func (e *env) fill(tb testing.TB, n int) {
	tb.Helper()
	ctx := context.Background()
	raw := testMessage(1)
	w, _ := e.store.Blobs().Create(ctx)
	w.Write([]byte(raw))
	id, size, err := w.Commit()
	if err != nil {
		tb.Fatal(err)
	}
	p, _ := message.Parse(strings.NewReader(raw))
	for done := 0; done < n; {
		batch := make([]store.NewMessage, 0, 2000)
		for ; done < n && len(batch) < cap(batch); done++ {
			m := store.NewMessage{AccountID: e.alice.ID, BlobID: id, Size: size, Parsed: p, InternalDate: time.Now()}
			if done%3 == 0 {
				m.Flags = []string{`\Seen`}
			}
			batch = append(batch, m)
		}
		if _, errs := e.store.Deliver(ctx, batch); errs[0] != nil {
			tb.Fatal(errs[0])
		}
	}
}

// TestLargeMailboxTimings prints how long SELECT and UID FETCH 1:* (UID
// FLAGS) take over a large mailbox (IMAPD_BENCH_MESSAGES, default
// skipped): a figure for the notes, not a timed assertion.
func TestLargeMailboxTimings(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("IMAPD_BENCH_MESSAGES"))
	if n == 0 {
		t.Skip("set IMAPD_BENCH_MESSAGES=100000 to measure")
	}
	e := newEnv(t)
	start := time.Now()
	e.fill(t, n)
	t.Logf("filled %d messages in %v", n, time.Since(start))
	e.reopen()
	runtime.GC()
	inbox, _ := e.store.GetMailbox(context.Background(), e.alice.ID, "INBOX")
	for range 3 {
		start = time.Now()
		e.store.MessageStates(context.Background(), inbox.ID)
		t.Logf("MessageStates: %v", time.Since(start))
	}
	c := e.dial(e.start(nil))
	c.login()
	for round := range 3 {
		start, cpu := time.Now(), cpuTime()
		lines, _ := c.cmd("s", "SELECT INBOX", "OK")
		sel, selCPU := time.Since(start), cpuTime()-cpu
		if !has(lines, fmt.Sprintf("* %d EXISTS", n)) {
			t.Fatalf("SELECT %q", lines)
		}
		start, cpu = time.Now(), cpuTime()
		lines, _ = c.cmd("f", "UID FETCH 1:* (UID FLAGS)", "OK")
		fetch, fetchCPU := time.Since(start), cpuTime()-cpu
		if len(lines) != n {
			t.Fatalf("%d FETCH lines", len(lines))
		}
		t.Logf("round %d: SELECT %v (CPU %v), UID FETCH 1:* (UID FLAGS) %v (CPU %v, client included)",
			round, sel, selCPU, fetch, fetchCPU)
	}
}

// cpuTime is the process's user and system CPU time: a figure that the
// other processes on a shared machine do not inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFetchBodies: FETCH of the rows and bytes of 1,000 small
// messages (no added header lines) in one command.
func BenchmarkFetchBodies(b *testing.B) {
	e := newEnv(b)
	e.fill(b, 1000)
	c := e.dial(e.start(nil))
	c.login()
	c.cmd("s", "SELECT INBOX", "OK")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.cmd("f", "FETCH 1:* (RFC822.SIZE EMAILID BODY.PEEK[])", "OK")
	}
}
