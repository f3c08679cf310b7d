package search

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// tmsg builds a message for threading: hdr is "Message-ID/References/
// In-Reply-To" header lines, days its sent date as days after 2024-01-01
// (negative: no Date header).
func tmsg(t *testing.T, seq uint32, subject string, days int, hdr ...string) Msg {
	t.Helper()
	raw := "Subject: " + subject + "\n"
	if days >= 0 {
		raw += "Date: " + day(2024, 1, 1+days, 12).Format(time.RFC1123Z) + "\n"
	}
	for _, h := range hdr {
		raw += h + "\n"
	}
	return Msg{Seq: seq, UID: seq * 10, InternalDate: day(2023, 1, 1, 0).Add(time.Duration(seq) * time.Hour),
		Parsed: parsed(t, raw+"\nbody\n")}
}

func id(s string) string { return "Message-ID: <" + s + "@x>" }
func refs(s ...string) string {
	return "References: <" + strings.Join(s, "@x> <") + "@x>"
}

func runThread(t *testing.T, algo string, msgs []Msg) string {
	t.Helper()
	c := mustParse(t, fmt.Sprintf("a THREAD %s UTF-8 ALL\r\n", algo))
	res, err := c.Run(msgs, Env{})
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(strings.TrimPrefix(string(res.Append(nil, "a", false, false)), "* THREAD"), "\r\n")
}

func TestThreadOrderedSubject(t *testing.T) {
	msgs := []Msg{
		tmsg(t, 1, "A", 1),
		tmsg(t, 2, "Re: A", 3),
		tmsg(t, 3, "B", 2),
		tmsg(t, 4, "re: [list] a", 4),
		tmsg(t, 5, "C", 0),
		tmsg(t, 6, "B (fwd)", 5),
		tmsg(t, 7, "", -1), // no date: INTERNALDATE (2023) sorts it first
	}
	if got, want := runThread(t, "ORDEREDSUBJECT", msgs), " (7)(5)(1 (2)(4))(3 6)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := runThread(t, "ORDEREDSUBJECT", nil); got != "" {
		t.Errorf("empty: %q", got)
	}
}

func TestThreadReferences(t *testing.T) {
	tests := []struct {
		name string
		msgs []Msg
		want string
	}{
		{"chain", []Msg{
			tmsg(t, 1, "a", 1, id("a")),
			tmsg(t, 2, "b", 2, id("b"), refs("a")),
			tmsg(t, 3, "c", 3, id("c"), refs("a", "b")),
		}, "(1 2 3)"},
		{"RFC 5256 shape", []Msg{
			tmsg(t, 2, "other", 0, id("m2")),
			tmsg(t, 3, "s3", 1, id("m3")),
			tmsg(t, 4, "s4", 3, id("m4"), refs("m3", "m6")),
			tmsg(t, 6, "s6", 2, id("m6"), refs("m3")),
			tmsg(t, 7, "s7", 5, id("m7"), refs("m3", "m6", "m44")),
			tmsg(t, 23, "s23", 4, id("m23"), refs("m3", "m6", "m4")),
			tmsg(t, 44, "s44", 4, id("m44"), refs("m3", "m6")),
			tmsg(t, 96, "s96", 6, id("m96"), refs("m3", "m6", "m44", "m7")),
		}, "(2)(3 6 (4 23)(44 7 96))"},
		{"missing parent, two children: dummy kept", []Msg{
			tmsg(t, 1, "x1", 2, id("a"), refs("gone")),
			tmsg(t, 2, "x2", 1, id("b"), refs("gone")),
		}, "((2)(1))"},
		{"missing parent, one child: promoted", []Msg{
			tmsg(t, 1, "x", 1, id("a"), refs("gone1", "gone2")),
		}, "(1)"},
		{"missing middle: dummy below a message is replaced by its children", []Msg{
			tmsg(t, 1, "top", 1, id("a")),
			tmsg(t, 2, "x", 2, id("c"), refs("a", "gone")),
			tmsg(t, 3, "y", 3, id("d"), refs("a", "gone")),
		}, "(1 (2)(3))"},
		{"In-Reply-To without References", []Msg{
			tmsg(t, 1, "p", 1, id("a")),
			tmsg(t, 2, "q", 2, id("b"), "In-Reply-To: <a@x> <zz@x>"),
		}, "(1 2)"},
		{"References win over In-Reply-To", []Msg{
			tmsg(t, 1, "p", 1, id("a")),
			tmsg(t, 2, "q", 2, id("b")),
			tmsg(t, 3, "r", 3, id("c"), refs("a"), "In-Reply-To: <b@x>"),
		}, "(1 3)(2)"},
		{"self reference", []Msg{
			tmsg(t, 1, "p", 1, id("a"), refs("a")),
		}, "(1)"},
		{"mutual references", []Msg{
			tmsg(t, 1, "p", 2, id("a"), refs("b")),
			tmsg(t, 2, "q", 1, id("b"), refs("a")),
		}, "(2 1)"},
		{"loop inside References", []Msg{
			tmsg(t, 1, "p", 1, id("z"), refs("a", "b", "a")),
			tmsg(t, 2, "q", 2, id("a")),
		}, "(2 1)"},
		{"duplicate Message-ID", []Msg{
			tmsg(t, 1, "p", 1, id("a")),
			tmsg(t, 2, "q", 2, id("a")),
			tmsg(t, 3, "r", 3, id("c"), refs("a")),
		}, "(1 3)(2)"},
		{"subject: reply joins the original", []Msg{
			tmsg(t, 1, "Re: Hello", 2),
			tmsg(t, 2, "hello", 1),
		}, "(2 1)"},
		{"subject: two originals become siblings", []Msg{
			tmsg(t, 1, "Same", 1),
			tmsg(t, 2, "Same", 2),
		}, "((1)(2))"},
		{"subject: two replies become siblings", []Msg{
			tmsg(t, 1, "Re: Same", 2),
			tmsg(t, 2, "Fwd: same", 1),
			tmsg(t, 3, "other", 0),
		}, "(3)((2)(1))"},
		{"subject: a message joins a dummy", []Msg{
			tmsg(t, 1, "topic", 3, id("a"), refs("gone")),
			tmsg(t, 2, "Re: topic", 1, id("b"), refs("gone")),
			tmsg(t, 3, "topic", 2),
		}, "((2)(3)(1))"},
		{"subject: two dummies merge", []Msg{
			tmsg(t, 1, "t", 1, id("a"), refs("g1")),
			tmsg(t, 2, "t", 2, id("b"), refs("g1")),
			tmsg(t, 3, "t", 3, id("c"), refs("g2")),
			tmsg(t, 4, "t", 4, id("d"), refs("g2")),
		}, "((1)(2)(3)(4))"},
		{"subject: empty subjects never merge", []Msg{
			tmsg(t, 1, "", 1),
			tmsg(t, 2, "Re:", 2),
		}, "(1)(2)"},
		{"threads and siblings ordered by date", []Msg{
			tmsg(t, 1, "late root", 9, id("r1")),
			tmsg(t, 2, "early root", 1, id("r2")),
			tmsg(t, 3, "c3", 5, id("c3"), refs("r2")),
			tmsg(t, 4, "c4", 3, id("c4"), refs("r2")),
			tmsg(t, 5, "c5", -1, id("c5"), refs("r2")), // no date: INTERNALDATE, 2023
		}, "(2 (5)(4)(3))(1)"},
	}
	for _, tc := range tests {
		if got := runThread(t, "REFERENCES", tc.msgs); strings.TrimSpace(got) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestThreadUID(t *testing.T) {
	msgs := []Msg{tmsg(t, 1, "a", 1, id("a")), tmsg(t, 2, "b", 2, id("b"), refs("a"))}
	c := mustParse(t, "a UID THREAD REFERENCES UTF-8 ALL\r\n")
	res, _ := c.Run(msgs, Env{})
	if got := string(res.Append(nil, "a", true, true)); got != "* THREAD (10 20)\r\n" {
		t.Errorf("got %q", got)
	}
}
