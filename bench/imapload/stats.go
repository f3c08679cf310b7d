package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// latencies collects durations per command name.
type latencies struct {
	mu sync.Mutex
	m  map[string][]time.Duration
}

func (l *latencies) add(name string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string][]time.Duration{}
	}
	l.m[name] = append(l.m[name], d)
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds))*p/100+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// report prints one line per command and a total.
func (l *latencies) report(elapsed time.Duration) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	names := make([]string, 0, len(l.m))
	total := 0
	for n, ds := range l.m {
		names = append(names, n)
		total += len(ds)
		slices.Sort(ds)
	}
	slices.Sort(names)
	for _, n := range names {
		ds := l.m[n]
		fmt.Fprintf(&b, "%-12s n=%-7d p50=%-9s p90=%-9s p99=%-9s max=%s\n", n, len(ds),
			ms(percentile(ds, 50)), ms(percentile(ds, 90)), ms(percentile(ds, 99)), ms(ds[len(ds)-1]))
	}
	fmt.Fprintf(&b, "commands=%d elapsed=%s rate=%.1f cmd/s\n", total, elapsed.Round(time.Millisecond),
		float64(total)/elapsed.Seconds())
	return b.String()
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
}

// rss returns a process's resident and peak resident memory in bytes.
func rss(pid int) (cur, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return cur, peak, nil
}

// rssLine describes the server's memory, or says why it cannot.
func rssLine(pid int) string {
	if pid == 0 {
		return "server RSS: unknown (give -pid)"
	}
	cur, peak, err := rss(pid)
	if err != nil {
		return "server RSS: " + err.Error()
	}
	return fmt.Sprintf("server RSS=%.1f MiB peak=%.1f MiB", float64(cur)/(1<<20), float64(peak)/(1<<20))
}
