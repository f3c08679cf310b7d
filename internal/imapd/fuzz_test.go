package imapd

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeConn feeds a session the bytes of a fuzz input and discards what
// it writes.
type fakeConn struct {
	r *bytes.Reader
}

func (c *fakeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *fakeConn) Close() error                { return nil }
func (c *fakeConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 143} }
func (c *fakeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// panicLog fails the fuzz run when a session recovered from a panic.
type panicLog struct {
	mu  sync.Mutex
	msg string
}

func (h *panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.mu.Lock()
		r.Attrs(func(a slog.Attr) bool { h.msg += a.String() + "\n"; return true })
		h.mu.Unlock()
	}
	return nil
}
func (h *panicLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *panicLog) WithGroup(string) slog.Handler      { return h }

var fuzzSeeds = []string{
	"a SELECT INBOX\r\nb FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (Subject From)]<0.10>)\r\nc LOGOUT\r\n",
	"a ENABLE QRESYNC IMAP4rev2\r\nb SELECT INBOX (QRESYNC (1 1 1:5 (1:2 1:2)))\r\nc UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
	"a SELECT INBOX\r\nb STORE 1:2 (UNCHANGEDSINCE 3) +FLAGS.SILENT (\\Deleted $x)\r\nc UID EXPUNGE 1:*\r\nd SEARCH OR SEEN NOT DELETED UID 1:*\r\n",
	"a APPEND INBOX (\\Seen) \" 7-Jul-2026 02:44:25 -0700\" {24+}\r\nSubject: x\r\n\r\nbody\r\n\r\n {5+}\r\nhello\r\nb SELECT INBOX\r\nc MOVE 1 Trash\r\n",
	"a CREATE a/b/c (USE (\\Drafts))\r\nb RENAME a z/y\r\nc LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (* %) RETURN (CHILDREN STATUS (MESSAGES SIZE DELETED))\r\nd DELETE z/y/b/c\r\n",
	"a SELECT INBOX\r\nb IDLE\r\nDONE\r\nc FETCH 1 (BINARY[1]<0.3> BINARY.SIZE[1] RFC822.TEXT PREVIEW EMAILID)\r\n",
	"a AUTHENTICATE PLAIN\r\n*\r\nb ID (\"name\" \"x\")\r\nc NAMESPACE\r\nd STATUS INBOX (MESSAGES UIDNEXT MAILBOXID)\r\n",
	"a APPEND Drafts CATENATE (URL \"/INBOX/;UID=1/;SECTION=1.MIME;PARTIAL=0.5\" TEXT {2+}\r\nhi)\r\nb GETQUOTAROOT INBOX\r\nc COMPRESS DEFLATE\r\n\x03\x00",
	"a SELECT INBOX\r\nb NOTIFY SET STATUS (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge FlagChange)) (SUBTREE (INBOX Archive) (MessageNew MessageExpunge)) (PERSONAL (MailboxName SubscriptionChange))\r\nc APPEND INBOX {5+}\r\nhello\r\nd CREATE n/x\r\ne IDLE\r\nDONE\r\nf NOTIFY NONE\r\ng UID SEARCH RETURN (UPDATE (FLAGS ENVELOPE)) ALL\r\nh APPEND INBOX {5+}\r\nworld\r\n",
}

// FuzzSession drives a whole logged-in session with arbitrary client
// bytes over a store holding a few messages: no input may crash the
// server (a panic is recovered per session and fails the run here).
func FuzzSession(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	e := newEnv(f)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2),
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n")
	// A small quota keeps the mailbox from growing without bound as
	// inputs APPEND and COPY.
	if err := e.store.SetQuota(context.Background(), e.alice.Address, 20<<10); err != nil {
		f.Fatal(err)
	}
	log := &panicLog{}
	srv := New(Options{Store: e.store, Auth: e.auth, PlaintextNetworks: loopback,
		Log: slog.New(log)})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := newSession(srv, &fakeConn{r: bytes.NewReader(in)})
		s.loggedIn(authAccount(e))
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.serve()
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			var buf bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Fatalf("session hung on %q:\n%s", in, buf.String())
		}
		if log.msg != "" {
			t.Fatalf("session panicked:\n%s", log.msg)
		}
	})
}
