package imapd

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"facteur.dev/facteur/internal/delivery"
	"facteur.dev/facteur/internal/mail"
)

// addedHeaders are what inbound checks put before a message's bytes.
const addedHeaders = "X-Spam: no\r\nAuthentication-Results: mx.example.test; spf=pass smtp.mailfrom=remote.test\r\n"

// headersMessage is multipart, with an encapsulated message, so that
// every kind of offset moves with the added header lines.
var headersMessage = strings.ReplaceAll(`From: Bob <bob@remote.test>
To: alice@example.test
Subject: report
Message-ID: <report@remote.test>
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

See the attached message.
--b
Content-Type: message/rfc822

Subject: inner
From: carol@remote.test

inner body
--b--
`, "\n", "\r\n")

// deliverWithHeaders delivers raw to alice through the delivery pipeline
// with Envelope.Headers.
func (e *env) deliverWithHeaders(raw, headers string) {
	e.t.Helper()
	ctx := context.Background()
	p := delivery.New(e.store, nil)
	route, err := p.Resolve(ctx, mail.Address{Local: "alice", Domain: "example.test"})
	if err != nil {
		e.t.Fatal(err)
	}
	msg, err := p.Receive(ctx, strings.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, err := range p.Deliver(ctx, delivery.Envelope{From: "bob@remote.test", Routes: []delivery.Route{route}, Headers: headers}, msg) {
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

// TestFetchWithHeaders: a message delivered with header lines to add
// reads back over IMAP as exactly those lines then the bytes received —
// BODY[], HEADER, TEXT, parts, a partial fetch across the boundary,
// HEADER.FIELDS, RFC822.SIZE — with the structure of the bytes received;
// SEARCH sees the added fields, a copy keeps them, and its EMAILID is
// not that of a copy of the same bytes without them.
func TestFetchWithHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliverWithHeaders(headersMessage, addedHeaders)
	e.deliver(e.alice, "INBOX", headersMessage) // the same blob, nothing added
	full := addedHeaders + headersMessage
	hdrEnd := len(addedHeaders) + strings.Index(headersMessage, "\r\n\r\n") + 4
	part1 := "See the attached message."
	inner := "Subject: inner\r\nFrom: carol@remote.test\r\n\r\ninner body"

	c := e.client(e.start(nil), nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	sections := map[string]*imap.FetchItemBodySection{
		full:                                    {Peek: true},
		full[:hdrEnd]:                           {Specifier: imap.PartSpecifierHeader, Peek: true},
		full[hdrEnd:]:                           {Specifier: imap.PartSpecifierText, Peek: true},
		full[10:60]:                             {Partial: &imap.SectionPartial{Offset: 10, Size: 50}, Peek: true},
		full[60:]:                               {Partial: &imap.SectionPartial{Offset: 60, Size: 1 << 20}, Peek: true},
		part1:                                   {Part: []int{1}, Peek: true},
		inner:                                   {Part: []int{2}, Peek: true},
		"inner body":                            {Part: []int{2}, Specifier: imap.PartSpecifierText, Peek: true},
		"X-Spam: no\r\nSubject: report\r\n\r\n": {Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject", "X-Spam"}, Peek: true},
	}
	opts := &imap.FetchOptions{RFC822Size: true}
	for _, s := range sections {
		opts.BodySection = append(opts.BodySection, s)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), opts).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH: %v %v", msgs, err)
	}
	if msgs[0].RFC822Size != int64(len(full)) {
		t.Errorf("RFC822.SIZE %d, want %d", msgs[0].RFC822Size, len(full))
	}
	for want, s := range sections {
		if got := string(msgs[0].FindBodySection(s)); got != want {
			t.Errorf("%+v: got\n%q\nwant\n%q", s, got, want)
		}
	}

	raw := e.dial(e.start(nil))
	raw.login()
	raw.cmd("s", "SELECT INBOX", "OK")
	lines, _ := raw.cmd("b", "FETCH 1:2 (BODYSTRUCTURE)", "OK")
	if len(lines) != 2 || strings.TrimPrefix(lines[0], "* 1") != strings.TrimPrefix(lines[1], "* 2") {
		t.Errorf("BODYSTRUCTURE differs from that of the bytes received:\n%s", strings.Join(lines, "\n"))
	}
	lines, _ = raw.cmd("q", "SEARCH HEADER X-Spam no", "OK")
	if len(lines) != 1 || lines[0] != "* SEARCH 1" {
		t.Errorf("SEARCH of an added field: %q", lines)
	}
	raw.cmd("c", "COPY 1 Archive", "OK")
	ids := emailIDs(t, raw, "1:2", 2)
	if ids[0] == ids[1] {
		t.Errorf("copies with and without added fields share EMAILID %s", ids[0])
	}
	raw.cmd("a", "SELECT Archive", "OK")
	if copied := emailIDs(t, raw, "1", 1); copied[0] != ids[0] {
		t.Errorf("a copy's EMAILID %s, want %s", copied[0], ids[0])
	}
	raw.Send("f FETCH 1 (RFC822.SIZE BODY.PEEK[])")
	l := raw.Line()
	if want := "* 1 FETCH (RFC822.SIZE " + strconv.Itoa(len(full)) + " BODY[] {" + strconv.Itoa(len(full)) + "}"; l != want {
		t.Fatalf("copy: %q, want %q", l, want)
	}
	if got := readN(raw, len(full)); got != full {
		t.Errorf("copy's BODY[]:\n%q\nwant\n%q", got, full)
	}
	raw.until("f", "OK")
}

// emailIDs returns the EMAILIDs of the n messages of set.
func emailIDs(t *testing.T, c *conn, set string, n int) []string {
	t.Helper()
	lines, _ := c.cmd("e", "FETCH "+set+" (EMAILID)", "OK")
	re := regexp.MustCompile(`EMAILID \(([A-Za-z0-9_-]+)\)`)
	var ids []string
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			ids = append(ids, m[1])
		}
	}
	if len(ids) != n {
		t.Fatalf("FETCH %s (EMAILID): %q", set, lines)
	}
	return ids
}

// readN reads n bytes of a literal, line by line.
func readN(c *conn, n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(c.Line() + "\r\n")
	}
	s := b.String()
	return s[:min(n, len(s))]
}
