// Command authflood measures what a password-guessing flood costs real
// users: it starts a throwaway Facteur (the binary given, or one it
// builds) with the default [auth] settings, floods its IMAP listener with
// wrong-password logins from -ips loopback addresses (127.0.0.10, …;
// Linux routes all of 127/8 to lo) over -flood connections, and meanwhile
// logs in -users legitimate accounts, one at a time, from 127.0.0.200.
// Each legitimate login is that account's first, so none is served from
// the verification cache. It prints the legitimate logins' latency
// percentiles (connect to tagged OK), the flood's counts, and the
// server's peak RSS (VmHWM) against the soft memory limit.
//
//	go run ./bench/authflood                   # 600 connections from 10 IPs, 100 users
//	go run ./bench/authflood -flood 1200 -ips 20
//	go run ./bench/authflood -unlimited        # every guess hashed: the queue alone protects the users
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	binary string
	flood  int
	ips    int
	users  int
	every  time.Duration
	// unlimited raises the failure limits out of reach, so that every
	// guess is hashed for the whole run: the fair queue alone then
	// stands between the flood and the legitimate logins.
	unlimited bool
}

func main() {
	var o options
	flag.StringVar(&o.binary, "facteur", "", "facteur binary (default: go build ./cmd/facteur)")
	flag.IntVar(&o.flood, "flood", 600, "concurrent connections sending wrong passwords")
	flag.IntVar(&o.ips, "ips", 10, "source addresses of the flood")
	flag.IntVar(&o.users, "users", 100, "legitimate logins, each a different account")
	flag.DurationVar(&o.every, "every", 100*time.Millisecond, "pause between legitimate logins")
	flag.BoolVar(&o.unlimited, "unlimited", false, "raise auth.max_failures_per_ip and _per_account out of reach: every guess is hashed")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "authflood:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	work, err := os.MkdirTemp("", "authflood-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if o.binary == "" {
		o.binary = filepath.Join(work, "facteur")
		if out, err := exec.Command("go", "build", "-o", o.binary, "./cmd/facteur").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	srv, err := startServer(o, work)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Printf("server pid %d on %s; flood: %d connections from %d IPs; %d legitimate logins from 127.0.0.200\n",
		srv.cmd.Process.Pid, srv.addr, o.flood, o.ips, o.users)

	ctx, cancel := context.WithCancel(context.Background())
	var f flood
	var wg sync.WaitGroup
	for i := range o.flood {
		wg.Go(func() { f.worker(ctx, srv.addr, fmt.Sprintf("127.0.0.%d", 10+i%o.ips), i) })
	}
	time.Sleep(2 * time.Second) // let the flood reach full strength before measuring
	lat, errs := legitimate(srv.addr, o)
	cancel()
	wg.Wait()
	hwm, err := peakRSS(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	report(lat, errs, &f, hwm)
	return nil
}

// server is a running throwaway instance.
type server struct {
	cmd  *exec.Cmd
	addr string
}

func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
}

// startServer writes a config (IMAP only, plaintext logins from loopback,
// connection limits raised so the flood reaches the login code, [auth]
// at its defaults), adds the accounts and starts serving.
func startServer(o options, work string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(work, "facteur.toml")
	err = os.WriteFile(conf, fmt.Appendf(nil, `hostname = "mail.example.test"
data_dir = %q
[listen]
%simap = %q
[auth]
plaintext_networks = ["127.0.0.0/8"]
%s
[limits]
max_connections = %d
max_connections_per_ip = %d
[log]
level = "warn"
`, filepath.Join(work, "data"), listenersOff(), addr, limits(o.unlimited), o.flood+100, o.flood/o.ips+10), 0o600)
	if err != nil {
		return nil, err
	}
	facteur := func(stdin string, args ...string) error {
		c := exec.Command(o.binary, append([]string{"--config", conf}, args...)...)
		c.Stdin = strings.NewReader(stdin)
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("facteur %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := facteur("", "domain", "add", "example.test"); err != nil {
		return nil, err
	}
	for i := range o.users {
		if err := facteur(password(i)+"\n", "user", "add", "--password-stdin", user(i)); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(o.binary, "--config", conf, "serve")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for range 200 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &server{cmd: cmd, addr: addr}, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, errors.New("server did not open its IMAP port")
}

// listenersOff turns off every listener but IMAP.
func listenersOff() string {
	var b strings.Builder
	for _, l := range []string{"smtp", "submission", "submissions", "imaps", "pop3", "pop3s", "lmtp", "http"} {
		fmt.Fprintf(&b, "%s = \"\"\n", l)
	}
	return b.String()
}

// limits returns the [auth] failure limits: the defaults, or out of reach.
func limits(unlimited bool) string {
	if !unlimited {
		return ""
	}
	return "max_failures_per_ip = 1000000000\nmax_failures_per_account = 1000000000"
}

func user(i int) string     { return fmt.Sprintf("user%d@example.test", i) }
func password(i int) string { return fmt.Sprintf("legitimate password %d", i) }

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// conn is an IMAP connection from a chosen loopback address.
type conn struct {
	c net.Conn
	r *bufio.Reader
	n int
}

func dial(addr, from string) (*conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 30 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		c.Close()
		return nil, err
	}
	return &conn{c: c, r: r}, nil
}

// login sends LOGIN and returns the tagged reply.
func (c *conn) login(user, pass string) (string, error) {
	c.n++
	tag := fmt.Sprintf("a%d", c.n)
	c.c.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := fmt.Fprintf(c.c, "%s LOGIN %q %q\r\n", tag, user, pass); err != nil {
		return "", err
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(line, tag+" ") {
			return line, nil
		}
	}
}

// flood counts the guesses' replies.
type flood struct {
	failed, refused, errors atomic.Int64
}

// worker guesses until ctx ends, on one connection while the server keeps
// it, half the time at user0's password, half at accounts that do not
// exist, with a new password each time.
func (f *flood) worker(ctx context.Context, addr, from string, id int) {
	var c *conn
	defer func() {
		if c != nil {
			c.c.Close()
		}
	}()
	for n := 0; ctx.Err() == nil; n++ {
		if c == nil {
			var err error
			if c, err = dial(addr, from); err != nil {
				f.errors.Add(1)
				time.Sleep(100 * time.Millisecond)
				continue
			}
		}
		target := user(0)
		if n%2 == 1 {
			target = fmt.Sprintf("nobody%d-%d@example.test", id, n)
		}
		reply, err := c.login(target, fmt.Sprintf("guess %d %d", id, n))
		switch {
		case err != nil:
			c.c.Close()
			c = nil
			if ctx.Err() == nil {
				f.errors.Add(1)
			}
		case strings.Contains(reply, "[UNAVAILABLE]"):
			f.refused.Add(1)
		default:
			f.failed.Add(1)
		}
	}
}

// legitimate logs each account in once, from 127.0.0.200, and returns
// the latencies of the successful logins and the failures.
func legitimate(addr string, o options) ([]time.Duration, []string) {
	var lat []time.Duration
	var errs []string
	for i := range o.users {
		start := time.Now()
		c, err := dial(addr, "127.0.0.200")
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		reply, err := c.login(user(i), password(i))
		elapsed := time.Since(start)
		c.c.Close()
		if err != nil || !strings.Contains(reply, " OK") {
			errs = append(errs, fmt.Sprintf("%s: %q %v", user(i), reply, err))
			continue
		}
		lat = append(lat, elapsed)
		time.Sleep(o.every)
	}
	return lat, errs
}

// peakRSS reads the peak resident set size of pid, in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// softLimit is the server's default soft memory limit on this machine:
// cmd/facteur/memlimit.go, 256 MiB plus one 64 MiB hash per core.
func softLimit() int64 {
	return 256<<20 + int64(runtimeProcs())*64<<20
}

func report(lat []time.Duration, errs []string, f *flood, hwm int64) {
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Printf("flood: %d wrong passwords checked, %d refused by the limiter, %d connection errors\n",
		f.failed.Load(), f.refused.Load(), f.errors.Load())
	fmt.Printf("legitimate logins during the flood: %d ok, %d failed\n", len(lat), len(errs))
	for _, e := range errs[:min(len(errs), 5)] {
		fmt.Printf("  %s\n", e)
	}
	fmt.Printf("legitimate login latency: p50 %v  p90 %v  p99 %v  max %v\n",
		pct(0.50).Round(time.Millisecond), pct(0.90).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond))
	fmt.Printf("server peak RSS: %.0f MiB (soft memory limit %.0f MiB)\n", float64(hwm)/(1<<20), float64(softLimit())/(1<<20))
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
