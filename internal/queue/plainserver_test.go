package queue

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"facteur.dev/facteur/internal/store"
)

// plainServer is a minimal SMTP server without PIPELINING, CHUNKING or
// any other extension but SIZE: it answers one command at a time, refuses
// recipients named in refuse, and records each DATA body as received
// (still dot-stuffed).
type plainServer struct {
	mu     sync.Mutex
	cmds   []string
	bodies []string
	refuse map[string]string
	chunk  bool // offer CHUNKING
}

func (p *plainServer) serve(t *testing.T) string {
	l := listen(t)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.conn(c)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

func (p *plainServer) conn(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { c.Write([]byte(s + "\r\n")) }
	say("220 plain.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		p.mu.Lock()
		p.cmds = append(p.cmds, line)
		p.mu.Unlock()
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch {
		case verb == "EHLO" && p.chunk:
			say("250-plain.test\r\n250-CHUNKING\r\n250 SIZE 1000000")
		case verb == "EHLO":
			say("250-plain.test\r\n250 SIZE 1000000")
		case verb == "BDAT":
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			body := make([]byte, n)
			if _, err := io.ReadFull(r, body); err != nil {
				return
			}
			p.mu.Lock()
			p.bodies = append(p.bodies, string(body))
			p.mu.Unlock()
			say("250 2.0.0 queued")
		case verb == "RCPT":
			if reply, ok := p.refuse[strings.ToLower(line)]; ok {
				say(reply)
			} else {
				say("250 2.1.5 ok")
			}
		case verb == "DATA":
			say("354 go ahead")
			var body strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				body.WriteString(l)
			}
			p.mu.Lock()
			p.bodies = append(p.bodies, body.String())
			p.mu.Unlock()
			say("250 2.0.0 queued")
		case verb == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// Without PIPELINING the client waits for each reply; without CHUNKING it
// sends DATA with dot-stuffing and CRLF line ends; a refused recipient
// fails alone.
func TestPlainServerDataPath(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	ps := &plainServer{refuse: map[string]string{"rcpt to:<no@plain.test>": "550 5.1.1 unknown"}}
	addr := ps.serve(t)
	a.startRunner("127.0.0.1:1", func(o *Options) { o.Routes = map[string]string{"plain.test": addr} })
	body := "From: <alice@a.test>\r\nSubject: dots\r\n\r\n.leading dot\nbare LF line\r\n..two dots\r\nlast"
	a.send("alice@a.test", []string{"yes@plain.test", "no@plain.test"}, body, nil)
	dsn := a.waitInbox("alice", 1)[0]
	if !strings.Contains(dsn, "Final-Recipient: rfc822; no@plain.test") || strings.Contains(dsn, "yes@plain.test>:") {
		t.Fatalf("DSN:\n%s", dsn)
	}
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.bodies) != 1 || !strings.HasSuffix(ps.bodies[0], "\r\n..leading dot\r\nbare LF line\r\n...two dots\r\nlast\r\n") {
		t.Fatalf("bodies %q", ps.bodies)
	}
	want := []string{"EHLO mx.a.test", "MAIL FROM:<alice@a.test> SIZE=", "RCPT TO:<yes@plain.test>", "RCPT TO:<no@plain.test>", "DATA"}
	for i, w := range want {
		if i >= len(ps.cmds) || !strings.HasPrefix(ps.cmds[i], w) {
			t.Fatalf("commands %q, want %q", ps.cmds, want)
		}
	}
}

// With CHUNKING, BDAT carries a clean message; one with a bare LF goes by
// DATA, which makes its line ends CRLF.
func TestBareLFAvoidsBDAT(t *testing.T) {
	t.Parallel()
	a := newSite(t, "a.test", "alice")
	ps := &plainServer{chunk: true}
	addr := ps.serve(t)
	a.startRunner("127.0.0.1:1", func(o *Options) { o.Routes = map[string]string{"plain.test": addr} })
	a.send("alice@a.test", []string{"x@plain.test"}, "From: <alice@a.test>\r\nSubject: clean\r\n\r\nok\r\n", nil)
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	a.send("alice@a.test", []string{"x@plain.test"}, "From: <alice@a.test>\r\nSubject: bare\r\n\r\nbare\nlf\r\n", nil)
	a.waitQueue("empty", func(q []store.QueuedMessage) bool { return len(q) == 0 })
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var verbs []string
	for _, c := range ps.cmds {
		if strings.HasPrefix(c, "BDAT") || c == "DATA" {
			verbs = append(verbs, strings.Fields(c)[0])
		}
	}
	if strings.Join(verbs, ",") != "BDAT,DATA" || len(ps.bodies) != 2 || !strings.Contains(ps.bodies[1], "bare\r\nlf\r\n") {
		t.Fatalf("verbs %v bodies %q", verbs, ps.bodies)
	}
}
