package queue

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzReply feeds arbitrary server output to the client's reply and EHLO
// readers: they must not panic or hang, and a reply they accept has a
// code from 200 to 599.
func FuzzReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\r\n250-b\r\n250 c\r\n", "550 5.1.1 <x>: no\r\n", "451-4.3.0 a\r\n451 4.3.0 b\r\n",
		"25", "250-x\r\n251 y\r\n", "999 z\r\n", "250-PIPELINING\r\n250-SIZE 10\r\n250 STARTTLS\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, ehlo := range []bool{false, true} {
			c1, c2 := net.Pipe()
			go func() {
				c2.SetDeadline(time.Now().Add(time.Second))
				bufio.NewReader(c2).ReadString('\n') // the EHLO command
				c2.Write([]byte(s))
				c2.Close()
			}()
			c := &client{conn: c1, r: bufio.NewReader(c1), w: bufio.NewWriter(c1), host: mxHost{Name: "fuzz"},
				addr: "127.0.0.1:25", to: Timeouts{Greeting: time.Second}}
			if ehlo {
				c.ehlo("h")
			} else {
				c.write("NOOP")
				c.flush(time.Second)
				if r, err := c.readReply(time.Second); err == nil && (r.Code < 200 || r.Code > 599) {
					t.Fatalf("accepted code %d", r.Code)
				}
			}
			c1.Close()
		}
	})
}

// FuzzParseSTS: any policy text parses or fails, without panicking.
func FuzzParseSTS(f *testing.F) {
	f.Add(enforce)
	f.Add("version: STSv1\nmode: testing\nmx: *.a\nmx: b\nmax_age: 99999999999\n")
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := parseSTS(strings.NewReader(s)); err == nil && p.Mode != "none" && len(p.MX) == 0 {
			t.Fatal("policy without mx accepted")
		}
	})
}
