package imapd

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// These tests drive the server with go-imap v2's client, as a mail
// client would.

func (e *env) client(addr string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialStartTLS(addr, &imapclient.Options{TLSConfig: e.clientTLS, UnilateralDataHandler: h})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Login("alice@example.test", password).Wait(); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestClientMailboxes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.start(func(o *Options) { o.PlaintextNetworks = nil }), nil)
	must(t, c.Create("Projects/2026/Q4", nil).Wait())
	must(t, c.Create("Receipts", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrArchive}}).Wait())
	must(t, c.Create("Été", nil).Wait())
	must(t, c.Create("inbox/Later", nil).Wait()) // a child of INBOX, not of a new "inbox"
	list, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true, UIDNext: true}}).Collect()
	must(t, err)
	names := map[string]*imap.ListData{}
	for _, l := range list {
		names[l.Mailbox] = l
	}
	if names["inbox"] != nil || !slices.Contains(names["INBOX"].Attrs, imap.MailboxAttrHasChildren) {
		t.Fatalf("INBOX is case-insensitive: %v", names)
	}
	for _, n := range []string{"INBOX", "INBOX/Later", "Projects", "Projects/2026", "Projects/2026/Q4", "Receipts", "Été", "Trash"} {
		if names[n] == nil {
			t.Fatalf("LIST lacks %q: %v", n, names)
		}
	}
	if !slices.Contains(names["Projects"].Attrs, imap.MailboxAttrHasChildren) ||
		!slices.Contains(names["Receipts"].Attrs, imap.MailboxAttrArchive) || names["INBOX"].Status == nil {
		t.Fatalf("attributes: %+v %+v %+v", names["Projects"], names["Receipts"], names["INBOX"])
	}
	top, err := c.List("", "%", nil).Collect()
	must(t, err)
	if slices.ContainsFunc(top, func(l *imap.ListData) bool { return strings.Contains(l.Mailbox, "/") }) {
		t.Fatalf("%% matched a child: %v", top)
	}
	must(t, c.Rename("Projects", "Archive/Projects", nil).Wait())
	st, err := c.Status("Archive/Projects/2026/Q4", &imap.StatusOptions{NumMessages: true}).Wait()
	must(t, err)
	if *st.NumMessages != 0 {
		t.Fatalf("status %+v", st)
	}
	must(t, c.Delete("Archive/Projects").Wait()) // its children stay (RFC 3501 §6.3.4)
	must(t, c.Delete("Archive/Projects/2026/Q4").Wait())
	must(t, c.Subscribe("Receipts").Wait())
	must(t, c.Unsubscribe("Receipts").Wait())
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	must(t, err)
	if slices.ContainsFunc(subs, func(l *imap.ListData) bool { return l.Mailbox == "Receipts" }) {
		t.Fatalf("unsubscribed mailbox listed: %v", subs)
	}
}

func TestClientMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	c := e.client(e.start(nil), nil)
	msg := "From: a@example.test\r\nSubject: appended\r\n\r\nhello\r\n"
	app := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft}})
	io.WriteString(app, msg)
	must(t, app.Close())
	ad, err := app.Wait()
	must(t, err)
	if ad.UID != 3 || ad.UIDValidity == 0 {
		t.Fatalf("APPENDUID %+v", ad)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	must(t, err)
	if sel.NumMessages != 3 || sel.UIDNext != 4 {
		t.Fatalf("SELECT %+v", sel)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 3), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, RFC822Size: true, InternalDate: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{{Peek: true}, {Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 0, Size: 4}}},
	}).Collect()
	must(t, err)
	if len(msgs) != 2 || msgs[0].Envelope.Subject != "message 1" || msgs[1].Envelope.Subject != "appended" {
		t.Fatalf("FETCH %+v", msgs)
	}
	if !slices.Contains(msgs[1].Flags, imap.FlagDraft) || !slices.Contains(msgs[1].Flags, imap.FlagSeen) {
		t.Fatalf("flags after BODY[TEXT] %v", msgs[1].Flags)
	}
	var whole, text string
	for _, s := range msgs[1].BodySection {
		if s.Section.Specifier == imap.PartSpecifierText {
			text = string(s.Bytes)
		} else {
			whole = string(s.Bytes)
		}
	}
	if whole != msg || text != "hell" {
		t.Fatalf("sections %q %q", whole, text)
	}
	must(t, c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Work"}}, nil).Close())
	found, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, nil).Wait()
	must(t, err)
	if got := found.AllUIDs(); !slices.Equal(got, []imap.UID{1}) {
		t.Fatalf("SEARCH FLAGGED %v", got)
	}
	cp, err := c.Copy(imap.SeqSetNum(1, 2), "Archive").Wait()
	must(t, err)
	if cp.UIDValidity == 0 || cp.DestUIDs.String() != "1:2" {
		t.Fatalf("COPYUID %+v", cp)
	}
	mv, err := c.Move(imap.SeqSetNum(2), "Trash").Wait()
	must(t, err)
	if mv.DestUIDs.String() != "1" {
		t.Fatalf("MOVE %+v", mv)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Fatalf("after MOVE the client counts %d messages", n)
	}
	must(t, c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
	exp, err := c.Expunge().Collect()
	must(t, err)
	if !slices.Equal(exp, []uint32{1}) {
		t.Fatalf("EXPUNGE %v", exp)
	}
	st, err := c.Status("Archive", &imap.StatusOptions{NumMessages: true, NumUnseen: true, Size: true}).Wait()
	must(t, err)
	if *st.NumMessages != 2 || *st.NumUnseen != 1 || *st.Size == 0 { // message 1 was read
		t.Fatalf("STATUS Archive %+v", st)
	}
}

func TestClientBinaryAndSCRAM(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	raw := "From: a@example.test\r\nSubject: attachment\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n--b--\r\n"
	e.deliver(e.alice, "INBOX", raw)
	c, err := imapclient.DialTLS(e.startTLS(), &imapclient.Options{TLSConfig: e.clientTLS})
	must(t, err)
	defer c.Close()
	must(t, c.Authenticate(sasl.NewPlainClient("", "alice@example.test", password)))
	_, err = c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	must(t, err)
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		BinarySection:     []*imap.FetchItemBinarySection{{Part: []int{2}, Peek: true}},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{2}}},
		BodySection:       []*imap.FetchItemBodySection{{Part: []int{1}}},
	}).Collect()
	must(t, err)
	m := msgs[0]
	if len(m.BinarySection) != 1 || string(m.BinarySection[0].Bytes) != "\x00\x01\x02\x03\x04" ||
		m.BinarySectionSize[0].Size != 5 || string(m.BodySection[0].Bytes) != "see attached" {
		t.Fatalf("FETCH %+v", m)
	}
	if slices.Contains(m.Flags, imap.FlagSeen) {
		t.Fatal("EXAMINE set \\Seen")
	}
}

// startTLS starts an implicit-TLS listener.
func (e *env) startTLS() string {
	return e.start(func(o *Options) { o.ImplicitTLS, o.PlaintextNetworks = true, nil })
}

// TestIdleSeesOtherSessions is the two-client case: B in IDLE
// sees a delivery, A's flag change and A's expunge without polling.
func TestIdleSeesOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", testMessage(1), testMessage(2))
	addr := e.start(nil)
	events := make(chan string, 16)
	b := e.client(addr, &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { events <- "expunge " + itoa(seq) },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				events <- "exists " + itoa(*d.NumMessages)
			}
		},
		Fetch: func(m *imapclient.FetchMessageData) {
			buf, _ := m.Collect()
			if buf != nil {
				events <- "fetch " + itoa(buf.SeqNum) + " " + flagString(buf.Flags)
			}
		},
	})
	_, err := b.Select("INBOX", nil).Wait()
	must(t, err)
	idle, err := b.Idle()
	must(t, err)
	a := e.client(addr, nil)
	_, err = a.Select("INBOX", nil).Wait()
	must(t, err)

	expect := func(want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("B saw %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("B saw nothing, want %q", want)
		}
	}
	e.deliver(e.alice, "INBOX", testMessage(3))
	expect("exists 3")
	must(t, a.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
	expect(`fetch 1 \Recent \Deleted`) // B selected first: its messages are recent to it
	_, err = a.Expunge().Collect()
	must(t, err)
	expect("expunge 1")
	must(t, idle.Close())
	must(t, idle.Wait())
	if n := b.Mailbox().NumMessages; n != 2 {
		t.Fatalf("B counts %d messages", n)
	}
}

func flagString(flags []imap.Flag) string {
	var s []string
	for _, f := range flags {
		s = append(s, string(f))
	}
	return strings.Join(s, " ")
}
