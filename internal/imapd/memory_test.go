package imapd

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleMemory prints the heap held per idling session
// (IMAPD_IDLE_SESSIONS, default skipped): a figure for the notes.
func TestIdleMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("IMAPD_IDLE_SESSIONS"))
	if n == 0 {
		t.Skip("set IMAPD_IDLE_SESSIONS=2000 to measure")
	}
	e := newEnv(t)
	addr := e.start(func(o *Options) { o.MaxSessionsPerAccount = n + 1; o.MaxConnsPerIP = n + 1; o.MaxConnections = n + 1 })
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var conns []net.Conn
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "a LOGIN alice@example.test %q\r\nb SELECT INBOX\r\nc IDLE\r\n", password)
		r := bufio.NewReader(c)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
			if strings.HasPrefix(l, "+ ") {
				break
			}
		}
	}
	time.Sleep(100 * time.Millisecond)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d idling sessions: heap in use %d KiB per session, stacks %d KiB per session, goroutines %d",
		n, (after.HeapInuse-before.HeapInuse)/uint64(n)/1024, (after.StackInuse-before.StackInuse)/uint64(n)/1024, runtime.NumGoroutine())
	if f, err := os.Create(os.Getenv("IMAPD_HEAP_PROFILE")); err == nil {
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	for _, c := range conns {
		c.Close()
	}
}
