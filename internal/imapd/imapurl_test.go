package imapd

import (
	"testing"
	"time"
)

// TestParseIMAPURL: the parts of RFC 5092 and RFC 4467 URLs.
func TestParseIMAPURL(t *testing.T) {
	t.Parallel()
	full := "imap://joe%40example.test;AUTH=*@example.com:143/Lists%2Fgo;UIDVALIDITY=7/;UID=20/;SECTION=1.2/;PARTIAL=0.10" +
		";EXPIRE=2026-11-23t12:00:00z;URLAUTH=Submit+Fred:INTERNAL:91354a473744909de610943775f92038"
	u, ok := parseIMAPURL(full)
	want := imapURL{user: "joe@example.test", host: "example.com", mailbox: "Lists/go", uidValidity: 7, uid: 20, section: "1.2", partial: "0.10",
		auth: true, expire: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), access: "submit+Fred",
		rump: full[:len(full)-len(":INTERNAL:91354a473744909de610943775f92038")], mech: "INTERNAL",
		token: "91354a473744909de610943775f92038"}
	if !ok || u != want {
		t.Errorf("parse %s:\n got %+v\nwant %+v", full, u, want)
	}
	if u, ok := parseIMAPURL("/INBOX/;uid=3"); !ok || u.mailbox != "INBOX" || u.uid != 3 || u.auth || u.user != "" {
		t.Errorf("relative URL: %+v %v", u, ok)
	}
	if u, ok := parseIMAPURL("imap://a@h/INBOX/;uid=3;urlauth=authuser"); !ok || u.access != "authuser" || u.mech != "" ||
		u.rump != "imap://a@h/INBOX/;uid=3;urlauth=authuser" {
		t.Errorf("rump URL: %+v %v", u, ok)
	}
	for _, bad := range []string{
		"", "INBOX/;UID=1", "/INBOX", "/INBOX/;UID=0", "/INBOX/;UID=x", "/INBOX/;UID=1/;FOO=2",
		"imap://h", "imap://@h/INBOX/;UID=1",
		"imap://a@h/INBOX/;UID=1;URLAUTH=root",
		"imap://a@h/INBOX/;UID=1;URLAUTH=user+",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser:internal",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser:internal:abc",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser::91354a473744909de610943775f92038",
		"imap://a@h/INBOX/;UID=1;EXPIRE=tomorrow;URLAUTH=authuser",
	} {
		if u, ok := parseIMAPURL(bad); ok {
			t.Errorf("%q parsed: %+v", bad, u)
		}
	}
}

// FuzzParseIMAPURL: any input parses without panicking, and a URLAUTH
// URL's rump is the start of what was written.
func FuzzParseIMAPURL(f *testing.F) {
	f.Add("imap://joe%40example.test;AUTH=*@example.com/INBOX;UIDVALIDITY=7/;UID=20/;SECTION=1.2/;PARTIAL=0.10" +
		";EXPIRE=2026-11-23T12:00:00Z;URLAUTH=submit+fred:internal:91354a473744909de610943775f92038")
	f.Add("/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(Subject)")
	f.Fuzz(func(t *testing.T, raw string) {
		u, ok := parseIMAPURL(raw)
		if ok && u.auth && (len(u.rump) > len(raw) || raw[:len(u.rump)] != u.rump) {
			t.Fatalf("rump %q of %q", u.rump, raw)
		}
		if ok {
			u.fetchSection()
		}
	})
}
