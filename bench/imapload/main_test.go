package main

import (
	"bufio"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeIMAP answers just enough IMAP for the load generator: every command
// gets a tagged OK, SELECT reports 3 messages, FETCH of a body sends a
// literal, IDLE waits for DONE. It counts the commands it saw.
func fakeIMAP(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var seen atomic.Int64
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go serveFake(conn, &seen)
		}
	}()
	return l.Addr().String(), &seen
}

func serveFake(conn net.Conn, seen *atomic.Int64) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	w.WriteString("* OK fake\r\n")
	w.Flush()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		seen.Add(1)
		f := strings.Fields(line)
		if len(f) < 2 {
			return
		}
		tag, cmd := f[0], strings.ToUpper(f[1])
		switch {
		case cmd == "SELECT":
			w.WriteString("* 3 EXISTS\r\n* OK [UIDVALIDITY 1] x\r\n")
		case cmd == "FETCH" && strings.Contains(line, "BODY.PEEK[]"):
			w.WriteString("* 1 FETCH (BODY[] {12}\r\nline1\r\n{3}\r\n)\r\n")
		case cmd == "SEARCH":
			w.WriteString("* SEARCH 1 2\r\n")
		case cmd == "IDLE":
			w.WriteString("+ idling\r\n")
			w.Flush()
			if l, err := r.ReadString('\n'); err != nil || strings.TrimSpace(l) != "DONE" {
				return
			}
		}
		w.WriteString(tag + " OK done\r\n")
		w.Flush()
		if cmd == "LOGOUT" {
			return
		}
	}
}

func testOptions(addr string) *options {
	return &options{users: "u%d@x.test", accounts: 2, pass: "p", n: 5, c: 2, sources: 1, repeat: 2,
		mailbox: "INBOX", word: "needle", hold: time.Millisecond, duration: 200 * time.Millisecond,
		dial: dialConfig{addr: addr, timeout: 5 * time.Second}}
}

func TestLiteralInsideResponseIsSkipped(t *testing.T) {
	addr, _ := fakeIMAP(t)
	c, err := testOptions(addr).connect(0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lines, err := c.cmd("FETCH 1 BODY.PEEK[]")
	if err != nil {
		t.Fatal(err)
	}
	// The literal's bytes look like "{3}" at a line end: they must not be
	// read as another literal.
	if len(lines) != 1 || !strings.HasSuffix(lines[0], ")") {
		t.Fatalf("lines %q", lines)
	}
}

func TestModesRunAgainstAServer(t *testing.T) {
	addr, seen := fakeIMAP(t)
	o := testOptions(addr)
	for name, run := range map[string]func(*options) error{"idle": runIdle, "mix": runMix, "big": runBig} {
		before := seen.Load()
		if err := run(o); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if seen.Load() == before {
			t.Fatalf("%s sent no commands", name)
		}
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if p := percentile(ds, 50); p != 5 {
		t.Fatalf("p50 %v", p)
	}
	if p := percentile(ds, 99); p != 10 {
		t.Fatalf("p99 %v", p)
	}
	if p := percentile(nil, 50); p != 0 {
		t.Fatalf("empty %v", p)
	}
}

func TestFillMessageHasTheWordEveryHundred(t *testing.T) {
	m := string(fillMessage(200, "u@x.test", 4096, "needle"))
	if len(m) < 4096 || !strings.Contains(m, "needle") {
		t.Fatalf("message %d bytes, word present %v", len(m), strings.Contains(m, "needle"))
	}
	if strings.Contains(string(fillMessage(201, "u@x.test", 4096, "needle")), "needle") {
		t.Fatal("word in a message that should not have it")
	}
}
