package imapd

import (
	"context"
	"slices"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/imapd/search"
	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

// threadMessage is a message with threading headers and a body.
func threadMessage(id, refs, subject, date, body string) string {
	h := "From: Carol <carol@remote.test>\r\nTo: alice@example.test\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + id + "@remote.test>\r\nDate: " + date + "\r\n"
	if refs != "" {
		h += "References: <" + refs + "@remote.test>\r\n"
	}
	return h + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + body + "\r\n"
}

func TestSearchSortThread(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX",
		threadMessage("a", "", "Lunch", "Mon, 2 Nov 2026 10:00:00 +0000", "Le caf=C3=A9 est pr=C3=AAt, lunch at noon"),
		threadMessage("b", "a", "Re: Lunch", "Mon, 2 Nov 2026 12:00:00 +0000", "Yes, see you at the caf=C3=A9"),
		threadMessage("c", "", "Budget", "Sun, 1 Nov 2026 09:00:00 +0000", "Numbers attached"),
		testMessage(4),
	)
	c := e.dial(e.start(nil))
	c.login()
	lines, _ := c.cmd("c1", "CAPABILITY", "OK")
	for _, capa := range []string{"ESEARCH", "SEARCHRES", "WITHIN", "SORT", "SORT=DISPLAY", "ESORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT"} {
		if !has(lines, " "+capa) {
			t.Errorf("capability %s missing: %q", capa, lines)
		}
	}
	c.cmd("s0", "SELECT INBOX", "OK")
	expect := func(tag, command, want string) {
		t.Helper()
		lines, _ := c.cmd(tag, command, "OK")
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("%s: got %q, want %q", command, lines, want)
		}
	}
	expect("s1", `SEARCH BODY "CAFÉ"`, "* SEARCH 1 2") // decoded, case-insensitive, UTF-8 quoted
	expect("s2", "SEARCH BODY lunch", "* SEARCH 1")    // not the Subject
	expect("s3", "SEARCH TEXT lunch", "* SEARCH 1 2")
	expect("s4", "SEARCH FROM carol NOT SUBJECT lunch", "* SEARCH 3")
	expect("s5", "SEARCH CHARSET UTF-8 SUBJECT {3+}\r\nre:", "* SEARCH 2")
	expect("s6", "UID SEARCH RETURN (MIN MAX COUNT ALL) OR BODY numbers BODY noon", `* ESEARCH (TAG "s6") UID MIN 1 MAX 3 ALL 1,3 COUNT 2`)
	expect("s7", "SEARCH SENTBEFORE 2-Nov-2026", "* SEARCH 3")
	expect("s8", "SEARCH LARGER 10 SINCE 1-Jan-2020 YOUNGER 3600", "* SEARCH 1 2 3 4")
	expect("s9", "SEARCH HEADER Message-ID c@remote", "* SEARCH 3")
	expect("s9a", "SEARCH SAVEDATESUPPORTED SAVEDSINCE 1-Jan-2020 NOT SAVEDBEFORE 1-Jan-2020", "* SEARCH 1 2 3 4")
	expect("s9b", "SORT (ARRIVAL) UTF-8 SAVEDBEFORE 1-Jan-2020", "* SORT")
	lines, tagged := c.cmd("s10", "SEARCH CHARSET KOI8-R BODY x", "NO")
	if !strings.Contains(tagged, "[BADCHARSET (UTF-8 US-ASCII)]") || len(lines) != 0 {
		t.Errorf("bad charset: %q %q", lines, tagged)
	}
	c.cmd("s11", "SEARCH BOGUS", "BAD")
	// SEARCHRES: the saved result feeds the next command.
	if lines, _ := c.cmd("r1", `SEARCH RETURN (SAVE) BODY "café"`, "OK"); len(lines) != 0 {
		t.Errorf("SAVE alone answered %q", lines)
	}
	expect("r2", "SEARCH $ NOT 1", "* SEARCH 2")
	lines, _ = c.cmd("r3", "FETCH $ (UID)", "OK")
	if len(lines) != 2 || !has(lines, "* 2 FETCH (UID 2)") {
		t.Errorf("FETCH $: %q", lines)
	}
	// SORT, ESORT, SORT=DISPLAY.
	expect("o1", "SORT (SUBJECT) UTF-8 ALL", "* SORT 3 1 2 4")
	expect("o2", "UID SORT (REVERSE DATE) UTF-8 ALL", "* SORT 2 1 4 3") // 1 and 4 tie: mailbox order
	expect("o3", "SORT (DISPLAYFROM SUBJECT) UTF-8 NOT 4", "* SORT 3 1 2")
	expect("o4", `SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 BODY "café"`, `* ESEARCH (TAG "o4") MIN 1 MAX 2 ALL 1:2 COUNT 2`)
	c.cmd("o5", "SORT (NOPE) UTF-8 ALL", "BAD")
	// THREAD.
	expect("t1", "THREAD REFERENCES UTF-8 ALL", "* THREAD (3)(1 2)(4)")
	expect("t2", "UID THREAD ORDEREDSUBJECT UTF-8 NOT 4", "* THREAD (3)(1 2)")
	// IMAP4rev2: SEARCH answers ESEARCH; MODSEQ turns CONDSTORE on.
	c2 := e.dial(e.start(nil))
	c2.login()
	c2.cmd("e1", "ENABLE IMAP4rev2", "OK")
	c2.cmd("e2", "SELECT INBOX", "OK")
	lines, _ = c2.cmd("e3", `SEARCH BODY "café"`, "OK")
	if len(lines) != 1 || lines[0] != `* ESEARCH (TAG "e3") ALL 1:2` {
		t.Errorf("rev2 SEARCH: %q", lines)
	}
	lines, _ = c2.cmd("e4", "SEARCH RETURN (ALL) MODSEQ 1", "OK") // RFC 7162 §3.1: HIGHESTMODSEQ first
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "* OK [HIGHESTMODSEQ ") ||
		!strings.HasPrefix(lines[1], `* ESEARCH (TAG "e4") ALL 1:4 MODSEQ `) {
		t.Errorf("MODSEQ: %q", lines)
	}
}

// addressMessages are imaptest's search-addresses messages (its .mbox),
// with an encoded-word display name as the 8th.
var addressMessages = []string{
	"From: user-from@domain.org\r\nTo: user-to@domain.org\r\nCc: user-cc@domain.org\r\nBcc: user-bcc@domain.org\r\n\r\nbody\r\n",
	"From: RealFrom <user-from@domain.org>\r\nTo: RealTo <user-to@domain.org>\r\nCc: RealCc <user-cc@domain.org>\r\nBcc: RealBcc <user-bcc@domain.org>\r\n\r\nbody2\r\n",
	"From: <user-from (comment)@ (comment) domain.org>\r\nTo: <user-to@domain.org>\r\nCc: <user-cc@domain.org>\r\nBcc: <user-bcc@domain.org>\r\n\r\nbody3\r\n",
	"From: user-from@domain.org (RealFrom)\r\nTo: user-to@domain.org (RealTo)\r\nCc: user-cc@domain.org (RealCc)\r\nBcc: user-bcc@domain.org (RealBcc)\r\n\r\nbody4\r\n",
	"From: user-from1@domain.org, user-from2@domain.org\r\nCc: user-cc@domain.org\r\n\r\nbody5\r\n",
	"From: RealFrom <user-from@domain.org>\r\nTo: groupname: groupuser1@domain.org, groupuser2@domain.org;,\r\n  groupname2: groupuser3@domain.org;\r\n\r\nbody6\r\n",
	"From: RealFrom <user-from@domain.org>\r\nTo: groupname:;\r\n\r\nbody7\r\n",
	"From: =?utf-8?q?Ren=C3=A9e_Dupont?= <renee@example.org>\r\n\r\nbody8\r\n",
}

// SEARCH FROM, TO, CC and BCC match the address list (RFC 9051 §6.4.4:
// the envelope's field), display names decoded, as well as the text;
// the text index (the socket test) and a scan of the messages
// (textContains) agree.
func TestSearchAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX", addressMessages...)
	c := e.dial(e.start(nil))
	c.login()
	c.cmd("s", "SELECT INBOX", "OK")
	cases := []struct{ key, want string }{
		{"FROM user-from@domain.org", " 1 2 3 4 6 7"},
		{"BCC user-bcc@domain.org", " 1 2 3 4"},
		{"FROM realfrom", " 2 4 6 7"},
		{"FROM ser-fro", " 1 2 3 4 5 6 7"},
		{"TO groupname", " 6 7"},
		{"TO groupname2", " 6"},
		{"TO groupuser3", " 6"},
		{"TO groupuser4", ""},
		{`FROM "renée dupont <renee@"`, " 8"},
		{`HEADER FROM ""`, " 1 2 3 4 5 6 7 8"},
		{"TEXT user-from@domain.org", " 1 2 3 4 6 7"},
	}
	for _, tc := range cases {
		lines, _ := c.cmd("a", "SEARCH CHARSET UTF-8 "+tc.key, "OK")
		if len(lines) != 1 || lines[0] != "* SEARCH"+tc.want {
			t.Errorf("SEARCH %s: %q, want %q", tc.key, lines, "* SEARCH"+tc.want)
		}
	}
	for _, needle := range []string{"user-from@domain.org", "realfrom", "groupname2", "renée", "(comment)"} {
		for _, f := range []store.TextField{store.TextHeader("from"), store.TextHeader("to"), store.TextAll, store.TextHeaders} {
			ts := e.store.(store.TextSearch)
			mb, err := e.store.GetMailbox(context.Background(), e.alice.ID, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			indexed, err := ts.SearchText(context.Background(), mb.ID, f, needle)
			if err != nil {
				t.Fatal(err)
			}
			var scanned []uint32
			for i, raw := range addressMessages {
				p, _ := message.Parse(strings.NewReader(raw))
				if textContains(p, f, search.Fold(needle)) {
					scanned = append(scanned, uint32(i+1))
				}
			}
			if !slices.Equal(indexed, scanned) {
				t.Errorf("%s %q: index %v, scan %v", f, needle, indexed, scanned)
			}
		}
	}
}
