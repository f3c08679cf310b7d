package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/smtp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// firstErrors keeps the first few errors of many goroutines.
type firstErrors struct {
	mu   sync.Mutex
	n    int
	errs []error
}

func (f *firstErrors) add(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if len(f.errs) < 5 {
		f.errs = append(f.errs, err)
	}
}

func (f *firstErrors) err() error {
	if f.n == 0 {
		return nil
	}
	return fmt.Errorf("%d failures, first: %w", f.n, errors.Join(f.errs...))
}

// parallel runs fn(i) for i in [0, n) with at most c at a time.
func parallel(n, c int, fn func(i int)) {
	sem := make(chan struct{}, c)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

func runIdle(o *options) error {
	clients := make([]*client, o.n)
	var fails firstErrors
	start := time.Now()
	parallel(o.n, 100, func(i int) {
		c, err := o.connect(i)
		if err == nil {
			if _, err = c.cmd("SELECT INBOX"); err == nil {
				err = c.idle()
			}
			if err != nil {
				c.Close()
			}
		}
		if err != nil {
			fails.add(err)
			return
		}
		clients[i] = c
	})
	ready := time.Since(start)
	idling := o.n - fails.n
	fmt.Printf("idle clients=%d failed=%d ready in %s (%.0f logins/s)\n", idling, fails.n,
		ready.Round(time.Millisecond), float64(idling)/ready.Seconds())
	fmt.Println(rssLine(o.pid))
	time.Sleep(o.hold)
	fmt.Println("after hold:", rssLine(o.pid))
	parallel(o.n, 100, func(i int) {
		if c := clients[i]; c != nil {
			if err := c.done(); err != nil {
				fails.add(fmt.Errorf("DONE: %w", err))
			}
			c.cmd("LOGOUT")
			c.Close()
		}
	})
	return fails.err()
}

// mixOps are the commands of the mix mode with their weights.
var mixOps = []struct {
	name   string
	weight int
}{
	{"SELECT", 5}, {"FETCH", 30}, {"FETCHBODY", 20}, {"SEARCH", 10},
	{"SEARCHBODY", 5}, {"STORE", 25}, {"NOOP", 5},
}

func pickOp(r *rand.Rand) string {
	total := 0
	for _, op := range mixOps {
		total += op.weight
	}
	n := r.IntN(total)
	for _, op := range mixOps {
		if n < op.weight {
			return op.name
		}
		n -= op.weight
	}
	return "NOOP"
}

// mixCommand is the IMAP command for op, given the mailbox size.
func mixCommand(op string, exists int, word string, r *rand.Rand) string {
	seq := 1 + r.IntN(max(exists, 1))
	switch op {
	case "SELECT":
		return "SELECT INBOX"
	case "FETCH":
		return fmt.Sprintf("FETCH %d:* (UID FLAGS)", max(exists-49, 1))
	case "FETCHBODY":
		return fmt.Sprintf("FETCH %d BODY.PEEK[]", seq)
	case "SEARCH":
		return "SEARCH UNSEEN"
	case "SEARCHBODY":
		return "SEARCH BODY " + quote(word)
	case "STORE":
		return fmt.Sprintf("STORE %d %sFLAGS.SILENT (\\Seen)", seq, []string{"+", "-"}[r.IntN(2)])
	}
	return "NOOP"
}

func runMix(o *options) error {
	var lat latencies
	var fails firstErrors
	deadline := time.Now().Add(o.duration)
	start := time.Now()
	parallel(o.c, o.c, func(i int) {
		c, err := o.connect(i)
		if err != nil {
			fails.add(err)
			return
		}
		defer c.Close()
		r := rand.New(rand.NewPCG(uint64(i), 1))
		if _, err := c.cmd("SELECT INBOX"); err != nil {
			fails.add(err)
			return
		}
		for time.Now().Before(deadline) {
			op := pickOp(r)
			if c.exists == 0 && (op == "FETCHBODY" || op == "STORE") {
				op = "NOOP"
			}
			t := time.Now()
			if _, err := c.cmd("%s", mixCommand(op, c.exists, o.word, r)); err != nil {
				fails.add(fmt.Errorf("%s: %w", op, err))
				return
			}
			lat.add(op, time.Since(t))
		}
		c.cmd("LOGOUT")
	})
	fmt.Print(lat.report(time.Since(start)))
	fmt.Println(rssLine(o.pid))
	return fails.err()
}

func runBig(o *options) error {
	c, err := o.connect(0)
	if err != nil {
		return err
	}
	defer c.Close()
	cmds := []string{"SELECT " + quote(o.mailbox), "UID FETCH 1:* (UID FLAGS)", "SEARCH BODY " + quote(o.word)}
	times := make([][]time.Duration, len(cmds))
	for r := 0; r < o.repeat; r++ {
		for i, cmd := range cmds {
			t := time.Now()
			if _, err := c.cmd("%s", cmd); err != nil {
				return fmt.Errorf("%s: %w", cmd, err)
			}
			times[i] = append(times[i], time.Since(t))
		}
	}
	fmt.Printf("mailbox %s: %d messages\n", o.mailbox, c.exists)
	for i, cmd := range cmds {
		first := times[i][0] // the first SELECT after a server start reads the mailbox cold
		slices.Sort(times[i])
		fmt.Printf("%-28s first=%-9s min=%-9s median=%-9s max=%s\n", cmd, ms(first), ms(times[i][0]),
			ms(times[i][len(times[i])/2]), ms(times[i][len(times[i])-1]))
	}
	fmt.Println(rssLine(o.pid))
	c.cmd("LOGOUT")
	return nil
}

func runFill(o *options) error {
	var next, sent atomic.Int64
	var fails firstErrors
	start := time.Now()
	parallel(o.c, o.c, func(int) {
		cl, err := smtp.Dial(o.smtp)
		if err != nil {
			fails.add(err)
			return
		}
		defer cl.Close()
		for {
			i := int(next.Add(1)) - 1
			if i >= o.messages {
				cl.Quit()
				return
			}
			if err := sendOne(cl, o, i); err != nil {
				fails.add(err)
				return
			}
			sent.Add(1)
		}
	})
	el := time.Since(start)
	fmt.Printf("delivered=%d in %s (%.0f msg/s)\n", sent.Load(), el.Round(time.Millisecond), float64(sent.Load())/el.Seconds())
	return fails.err()
}

func sendOne(cl *smtp.Client, o *options, i int) error {
	to := o.user(i)
	if err := cl.Mail("load@imapload.test"); err != nil {
		return err
	}
	if err := cl.Rcpt(to); err != nil {
		return err
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(fillMessage(i, to, o.size, o.word)); err != nil {
		return err
	}
	return w.Close()
}

// fillWords make message bodies of ordinary text; every 100th message also
// contains the search word.
var fillWords = strings.Fields("the quick brown fox jumps over a lazy dog while mail servers store index " +
	"and serve messages to many clients in sync across every mailbox folder")

func fillMessage(i int, to string, size int, word string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Load <load@imapload.test>\r\nTo: <%s>\r\nSubject: message %d\r\n", to, i)
	fmt.Fprintf(&b, "Message-ID: <%d.%d@imapload.test>\r\nDate: %s\r\n\r\n", i, time.Now().UnixNano(), time.Now().Format(time.RFC1123Z))
	if i%100 == 0 {
		b.WriteString(word + "\r\n")
	}
	r := rand.New(rand.NewPCG(uint64(i), 2))
	line := 0
	for b.Len() < size {
		b.WriteString(fillWords[r.IntN(len(fillWords))])
		line++
		if line%12 == 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}
