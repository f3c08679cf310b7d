package search

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"facteur.dev/facteur/internal/message"
	"facteur.dev/facteur/internal/store"
)

func parsed(t testing.TB, raw string) *message.Parsed {
	t.Helper()
	p, err := message.Parse(bytes.NewReader([]byte(strings.ReplaceAll(raw, "\n", "\r\n"))))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func day(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

// mailbox is five messages with varied flags, dates, sizes and text.
func mailbox(t testing.TB) []Msg {
	return []Msg{
		{Seq: 1, UID: 10, Flags: []string{`\Seen`, `\Answered`}, ModSeq: 5, Size: 100,
			InternalDate: day(2024, 1, 1, 23), SaveDate: day(2024, 1, 2, 0), EmailID: "Ma", ThreadID: "Tx",
			Parsed: parsed(t, "From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.org>\nTo: bob@example.test\nCc: carol@example.test\n"+
				"Subject: Lunch plans\nDate: Mon, 1 Jan 2024 08:00:00 +0100\nX-Priority: 1\n\nShall we meet at the café?\n")},
		{Seq: 2, UID: 20, Flags: []string{`\Flagged`, `$Forwarded`}, Recent: true, ModSeq: 9, Size: 2000,
			InternalDate: day(2024, 1, 2, 12), EmailID: "Mb", ThreadID: "Tx",
			Parsed: parsed(t, "From: bob@example.test\nTo: renee@example.org\nBcc: secret@example.net\n"+
				"Subject: Re: Lunch plans\nDate: Tue, 2 Jan 2024 23:30:00 -0500\n\nYes, noon.\n")},
		{Seq: 3, UID: 30, Flags: []string{`\Deleted`, `\Draft`}, Recent: true, ModSeq: 7, Size: 50,
			InternalDate: day(2024, 1, 3, 0),
			Parsed:       parsed(t, "From: dave@example.org\nSubject: draft\n\nunfinished LUNCH note\n")},
		{Seq: 4, UID: 40, Flags: []string{`\Seen`}, ModSeq: 3, Size: 5000, InternalDate: day(2024, 2, 1, 0),
			Parsed: parsed(t, "From: eve@example.org\nTo: bob@example.test\nSubject: no date here\n\nbody\n")},
		{Seq: 5, UID: 50, ModSeq: 12, Size: 1, InternalDate: day(2024, 2, 2, 0)}, // nothing parsed
	}
}

func TestEval(t *testing.T) {
	msgs := mailbox(t)
	now := day(2024, 2, 2, 1)
	tests := []struct {
		keys string
		want []uint32 // sequence numbers
	}{
		{"ALL", []uint32{1, 2, 3, 4, 5}},
		{"ANSWERED", []uint32{1}},
		{"UNANSWERED", []uint32{2, 3, 4, 5}},
		{"DELETED", []uint32{3}},
		{"UNDELETED", []uint32{1, 2, 4, 5}},
		{"DRAFT", []uint32{3}},
		{"UNDRAFT", []uint32{1, 2, 4, 5}},
		{"FLAGGED", []uint32{2}},
		{"UNFLAGGED", []uint32{1, 3, 4, 5}},
		{"SEEN", []uint32{1, 4}},
		{"UNSEEN", []uint32{2, 3, 5}},
		{"KEYWORD $forwarded", []uint32{2}},
		{"UNKEYWORD $Forwarded", []uint32{1, 3, 4, 5}},
		{"RECENT", []uint32{2, 3}},
		{"NEW", []uint32{2, 3}},
		{"OLD", []uint32{1, 4, 5}},
		{"BEFORE 2-Jan-2024", []uint32{1}},
		{"ON 2-Jan-2024", []uint32{2}},
		{"SINCE 3-Jan-2024", []uint32{3, 4, 5}},
		{"SENTBEFORE 2-Jan-2024", []uint32{1}},
		{"SENTON 2-Jan-2024", []uint32{2}}, // the day as written, not UTC
		{"SENTSINCE 1-Jan-2024", []uint32{1, 2}},
		{"SAVEDATESUPPORTED", []uint32{1}},
		{"SAVEDON 2-Jan-2024", []uint32{1}},
		{"SAVEDBEFORE 2-Jan-2024", nil},
		{"SAVEDSINCE 1-Jan-2024", []uint32{1}},
		{"OLDER 86400", []uint32{1, 2, 3, 4}},
		{"YOUNGER 86400", []uint32{5}},
		{"YOUNGER 90000", []uint32{4, 5}},
		{"LARGER 100", []uint32{2, 4}},
		{"SMALLER 100", []uint32{3, 5}},
		{"MODSEQ 9", []uint32{2, 5}},
		{"EMAILID Mb", []uint32{2}},
		{"THREADID Tx", []uint32{1, 2}},
		{"2:3", []uint32{2, 3}},
		{"*", []uint32{5}},
		{"4:*", []uint32{4, 5}},
		{"UID 20:40", []uint32{2, 3, 4}},
		{"UID *", []uint32{5}},
		{"UID 45:*", []uint32{5}},
		{"UID 1:15,41:45", []uint32{1}},
		{"$", []uint32{2, 4}},
		{"UID $ SEEN", []uint32{4}},
		{"NOT SEEN", []uint32{2, 3, 5}},
		{"OR SEEN FLAGGED", []uint32{1, 2, 4}},
		{"OR (SEEN ANSWERED) DRAFT", []uint32{1, 3}},
		{"NOT (SEEN OR ANSWERED FLAGGED)", []uint32{2, 3, 4, 5}},
		{"FROM renée", []uint32{1}},
		{"FROM ExAmPlE.ORG", []uint32{1, 3, 4}},
		{"TO bob", []uint32{1, 4}},
		{"CC carol", []uint32{1}},
		{"BCC secret", []uint32{2}},
		{"SUBJECT lunch", []uint32{1, 2}},
		{`SUBJECT "re: lunch"`, []uint32{2}},
		{"HEADER X-Priority 1", []uint32{1}},
		{`HEADER x-priority ""`, []uint32{1}},
		{`HEADER Subject ""`, []uint32{1, 2, 3, 4}},
		{"BODY lunch", []uint32{3}},
		{"BODY café", []uint32{1}},
		{"TEXT lunch", []uint32{1, 2, 3}},
		{"TEXT x-priority", []uint32{1}},
		{`BODY ""`, []uint32{1, 2, 3, 4, 5}},
		{"SEEN 4", []uint32{4}},
	}
	for _, tc := range tests {
		line := "a SEARCH " + tc.keys + "\r\n"
		if strings.Contains(tc.keys, "é") {
			line = "a SEARCH " + strings.Replace(tc.keys, " ", ` "`, 1) + "\"\r\n"
		}
		c := mustParse(t, line)
		res, err := c.Run(msgs, Env{Saved: []uint32{20, 40, 99}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Seqs(); !slices.Equal(got, tc.want) && len(got)+len(tc.want) > 0 {
			t.Errorf("SEARCH %s = %v, want %v", tc.keys, got, tc.want)
		}
	}
}

// With a TextMatcher, text keys are answered by it, once per key.
func TestEvalTextMatcher(t *testing.T) {
	msgs := mailbox(t)
	var calls []string
	env := Env{Text: func(f store.TextField, needle string) ([]uint32, error) {
		calls = append(calls, string(f)+"="+needle)
		return []uint32{20, 50, 70}, nil
	}}
	c := mustParse(t, "a SEARCH OR BODY x FROM y HEADER X-A z TEXT w UNSEEN\r\n")
	res, err := c.Run(msgs, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.UIDs(); !slices.Equal(got, []uint32{20, 50}) {
		t.Errorf("UIDs %v, want [20 50]", got)
	}
	want := []string{"BODY=x", "HEADER from=y", "HEADER x-a=z", "TEXT=w"}
	if !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	// No messages, no lookups.
	calls = nil
	if _, err := c.Run(nil, env); err != nil || len(calls) != 0 {
		t.Errorf("empty mailbox: %v, calls %q", err, calls)
	}
}
