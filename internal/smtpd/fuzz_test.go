package smtpd

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/testutil"
)

// FuzzSession drives a whole SMTP conversation with arbitrary client bytes
// against the MX and submission listeners: the server must neither crash
// nor hang, and must still serve a well-behaved client afterwards.
func FuzzSession(f *testing.F) {
	f.Add("EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
	f.Add("HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice+x@example.test>\r\nBDAT 5 LAST\r\nhello")
	f.Add("EHLO x\r\nAUTH PLAIN AGFsaWNlAHB3\r\nAUTH LOGIN\r\n*\r\nSTARTTLS\r\n")
	f.Add("EHLO x\r\nMAIL FROM:<a@b.test> SIZE=999999999999\r\nRCPT TO:<\xff\xfe@example.test>\r\nRCPT TO:<@@>\r\n")
	f.Add("EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n.\r\n")
	e := newEnv(f)
	mx := e.serve(MX, false, func(o *Options) { o.Timeout = 2 * time.Second; o.MaxConnsPerIP = 1000 })
	sub := e.serve(Submission, false, func(o *Options) { o.Timeout = 2 * time.Second; o.MaxConnsPerIP = 1000 })
	f.Fuzz(func(t *testing.T, input string) {
		for _, addr := range []string{mx, sub} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			go io.Copy(io.Discard, c)
			c.Write([]byte(input))
			c.Close()
			ok := testutil.Dial(t, addr)
			if r := ok.Reply(); !strings.HasPrefix(r, "220") {
				t.Fatalf("server unhealthy after input: %q", r)
			}
			ok.Expect("QUIT", "221")
		}
	})
}
