// Command imapload puts an IMAP server under load and prints what it
// measured: commands/second, latency percentiles per command, and the
// server's resident memory (RSS, read from /proc when -pid is given).
//
// Modes (-mode):
//
//	idle   -n clients log in, SELECT INBOX and IDLE; once all are idling it
//	       prints how long that took and the server's RSS, holds them for
//	       -hold, then ends IDLE and logs out.
//	mix    -c clients log in and, for -duration, run a mix of SELECT,
//	       FETCH (FLAGS of the newest messages), UID FETCH of a body,
//	       SEARCH (UNSEEN, and BODY -word), and STORE +/-FLAGS \Seen.
//	big    one client runs SELECT, "UID FETCH 1:* (UID FLAGS)" and
//	       "SEARCH BODY -word" on -mailbox, -repeat times each, and prints
//	       the first, fastest, median and slowest time of each (the targets
//	       of issue #3 are for a 100,000-message mailbox). Run right after
//	       the server starts, the first SELECT is the cold one a user sees
//	       after a restart.
//	fill   delivers -messages messages of -size bytes over SMTP (-smtp) to
//	       the users, -c at a time; every 100th contains -word, so that
//	       SEARCH BODY has something to find.
//
// Users are -users with %d replaced by 0 … -accounts-1, all with -pass.
// Client i logs in as user i mod -accounts and connects from 127.0.0.(1 +
// i mod -sources), so that many connections do not all come from one
// address (servers limit sessions per IP).
//
// Example (10,000 idling clients):
//
//	go run ./bench/imapload -mode idle -addr 127.0.0.1:1143 -n 10000 -accounts 100 \
//		-users 'user%d@bench.test' -pass secret -sources 200 -pid $(pgrep -f 'facteur serve')
//
// Figures measured here (2 cores shared with other work, load average
// 1-2 unless said; facteur serve with its defaults, GOGC=200 and the
// derived 384 MiB soft memory limit, limits.max_connections = 20000 and
// max_connections_per_ip = 200 so that 10,000 sessions fit, 200 accounts):
//
//	-mode idle -n 10000 -accounts 200 -sources 200     RSS 398-404 MiB (613 MiB without the memory limit)
//	-mode idle -n 10000 ... -tls (imaps)               RSS 397-406 MiB (770 MiB without it)
//	-mode big -accounts 1, INBOX of 100,000 2 KB messages filled with -mode fill, run right after
//	the server starts: SELECT first 3-11 ms once the INBOX is warmed at start; read cold,
//	84-123 ms (136-278 ms at load 9), 137-139 ms before MessageStates read concatenated chunks;
//	UID FETCH 1:* (UID FLAGS) 61-117 ms; SEARCH BODY 14-214 ms.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

type options struct {
	mode, users, pass, mailbox, word, smtp string
	accounts, n, c, sources, repeat        int
	messages, size                         int
	pid                                    int
	hold, duration                         time.Duration
	dial                                   dialConfig
}

func main() {
	o := &options{}
	flag.StringVar(&o.mode, "mode", "mix", "idle, mix, big or fill")
	flag.StringVar(&o.dial.addr, "addr", "127.0.0.1:1143", "IMAP server address")
	flag.BoolVar(&o.dial.tls, "tls", false, "implicit TLS (port 993)")
	flag.BoolVar(&o.dial.starttls, "starttls", false, "STARTTLS before logging in")
	flag.DurationVar(&o.dial.timeout, "timeout", 60*time.Second, "bound of every network step")
	flag.StringVar(&o.users, "users", "user%d@bench.test", "user name pattern with one %d")
	flag.IntVar(&o.accounts, "accounts", 10, "number of accounts")
	flag.StringVar(&o.pass, "pass", "", "password of every user")
	flag.IntVar(&o.n, "n", 1000, "idle: number of idling clients")
	flag.IntVar(&o.c, "c", 10, "mix, fill: concurrent clients")
	flag.IntVar(&o.sources, "sources", 1, "source addresses 127.0.0.1 … 127.0.0.N to spread clients over")
	flag.DurationVar(&o.hold, "hold", 5*time.Second, "idle: how long to hold the clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "mix: how long to run")
	flag.StringVar(&o.mailbox, "mailbox", "INBOX", "big: the mailbox to measure")
	flag.StringVar(&o.word, "word", "needle", "the word SEARCH BODY looks for")
	flag.IntVar(&o.repeat, "repeat", 5, "big: runs of each command")
	flag.IntVar(&o.pid, "pid", 0, "server process ID, to report its RSS")
	flag.StringVar(&o.smtp, "smtp", "127.0.0.1:2525", "fill: SMTP server to deliver through")
	flag.IntVar(&o.messages, "messages", 1000, "fill: messages to deliver")
	flag.IntVar(&o.size, "size", 4096, "fill: message size in bytes")
	flag.Parse()
	if !strings.Contains(o.users, "%d") || o.accounts < 1 || o.n < 1 || o.c < 1 || o.sources < 1 || o.sources > 254 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	switch o.mode {
	case "idle":
		err = runIdle(o)
	case "mix":
		err = runMix(o)
	case "big":
		err = runBig(o)
	case "fill":
		err = runFill(o)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imapload:", err)
		os.Exit(1)
	}
}

func (o *options) user(i int) string { return fmt.Sprintf(o.users, i%o.accounts) }

// connect dials as client i and logs in.
func (o *options) connect(i int) (*client, error) {
	dc := o.dial
	if o.sources > 1 {
		dc.localAddr = net.IPv4(127, 0, 0, byte(1+i%o.sources))
	}
	c, err := dial(dc)
	if err != nil {
		return nil, err
	}
	if err := c.login(o.user(i), o.pass); err != nil {
		c.Close()
		return nil, fmt.Errorf("login %s: %w", o.user(i), err)
	}
	return c, nil
}
