package message

import (
	"strings"
	"testing"
)

func TestAddressText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"user-from@domain.org", "user-from@domain.org"},
		{"RealFrom <user-from@domain.org>", "RealFrom <user-from@domain.org>"},
		{"<user-from (comment)@ (comment) domain.org>", "user-from@domain.org"},
		{"user-from1@domain.org,\r\n user-from2@domain.org", "user-from1@domain.org, user-from2@domain.org"},
		{"=?utf-8?q?Ren=C3=A9e_Dupont?= <renee@example.org>", "Renée Dupont <renee@example.org>"},
		{`"Doe, John" <j@d.test>`, "Doe, John <j@d.test>"},
		{"groupname: groupuser1@domain.org, groupuser2@domain.org;,\r\n  groupname2: groupuser3@domain.org;",
			"groupname: groupuser1@domain.org, groupuser2@domain.org;, groupname2: groupuser3@domain.org;"},
		{"groupname:;", "groupname:;"},
		{"nodomain", "nodomain"},
		{"\xff <x@y>", "\uFFFD <x@y>"},
	} {
		if got := AddressText(tc.in); got != tc.want {
			t.Errorf("AddressText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FieldContains answers imaptest's search-addresses cases.
func TestFieldContains(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value, needle string
		want                bool
	}{
		{"From", "<user-from (comment)@ (comment) domain.org>", "user-from@domain.org", true}, // the address list
		{"From", "<user-from (comment)@ (comment) domain.org>", "(comment)", true},            // the text
		{"From", "user-from@domain.org (RealFrom)", "realfrom", true},                         // a comment as name
		{"From", "user-from@domain.org (RealFrom)", "realto", false},
		{"To", "=?utf-8?q?Ren=C3=A9e?= <r@x>", "RENÉE <r@", true}, // decoded display name
		{"To", "=?utf-8?q?Ren=C3=A9e?= <r@x>", "=?utf-8", false},
		{"To", "groupname: groupuser1@domain.org;, groupname2: groupuser3@domain.org;", "groupname2", true},
		{"To", "groupname: groupuser1@domain.org;", "groupuser1", true},
		{"To", "groupname:;", "groupname2", false},
		{"Bcc", "<user-bcc @ domain.org>", "user-bcc@domain.org", true},
		{"Reply-To", "<a @ b.test>", "a@b.test", true},
		{"Subject", "<a @ b.test>", "a@b.test", false}, // not an address field: text only
		{"Subject", "=?utf-8?q?caf=C3=A9?=", "CAFÉ", true},
		{"From", "anything", "", true},
	} {
		if got := FieldContains(tc.name, tc.value, tc.needle); got != tc.want {
			t.Errorf("FieldContains(%s: %q, %q) = %v, want %v", tc.name, tc.value, tc.needle, got, tc.want)
		}
	}
}

// SearchHeaderText adds the address lists that differ from the text, so
// that a field's lines in it match as FieldContains does.
func TestSearchHeaderText(t *testing.T) {
	t.Parallel()
	p, err := Parse(strings.NewReader("From: <user-from (c)@ domain.org>\r\nTo: plain@domain.org\r\n" +
		"Subject: <s @ x>\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := p.HeaderText() + "From: user-from@domain.org\n"
	if got := p.SearchHeaderText(); got != want {
		t.Errorf("SearchHeaderText:\n got %q\nwant %q", got, want)
	}
}
