package main

import (
	"strings"
	"testing"
)

// user set changes the quota and the state of an account after its
// creation, user list shows both, and the running server refuses mail to
// a disabled account and takes it again once enabled (issue 16 §12).
func TestUserSet(t *testing.T) {
	in := newInstance(t)
	in.start()
	in.admin("", "domain", "add", "example.test")
	in.admin("a long password\n", "user", "add", "--password-stdin", "alice@example.test")
	if out := in.admin("", "user", "set", "Alice@example.test", "--quota", "2M"); !strings.Contains(out, "quota 2097152 bytes") {
		t.Fatalf("set --quota: %q", out)
	}
	in.admin("", "user", "set", "alice@example.test", "--disable")
	if out := in.admin("", "user", "list"); !strings.Contains(out, "alice@example.test quota=2097152 used=0 disabled") {
		t.Fatalf("list: %q", out)
	}
	msg := "From: <bob@remote.test>\r\nSubject: hi\r\n\r\nhi\r\n"
	if r := mxSession(in.smtp, "bob@remote.test", "alice@example.test", msg); !strings.HasPrefix(r, "5") {
		t.Fatalf("mail to a disabled account: %s", r)
	}
	in.admin("", "user", "set", "alice@example.test", "--enable")
	if out := in.admin("", "user", "list"); strings.Contains(out, "disabled") {
		t.Fatalf("list after --enable: %q", out)
	}
	if r := mxSession(in.smtp, "bob@remote.test", "alice@example.test", msg); r != "250" {
		t.Fatalf("mail after --enable: %s", r)
	}
}
