package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImaplibURLAuth: with Python's imaplib against the built server,
// alice signs a URL of her message for bob (GENURLAUTH, RFC 4467) and
// bob's own session fetches it (URLFETCH); after RESETKEY it is NIL.
func TestImaplibURLAuth(t *testing.T) {
	python := tool(t, "python3")
	in := newMailInstance(t, 1)
	in.admin("bob password\n", "user", "add", "--password-stdin", "bob@example.test")
	script := `
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
def login(user, password):
    M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
    M.starttls(ctx)
    M.login(user, password)
    return M
A = login("alice@example.test", "secret password")
assert "URLAUTH" in A.capabilities and "URLAUTH=BINARY" in A.capabilities, A.capabilities
rump = "imap://alice%40example.test@localhost/INBOX/;uid=1/;section=TEXT;urlauth=user+bob%40example.test"
typ, data = A.xatom("GENURLAUTH", '"%s"' % rump, "INTERNAL")
assert typ == "OK", data
typ, data = A.response("GENURLAUTH")
url = data[0].decode().strip('"')
assert url.startswith(rump + ":internal:"), data
B = login("bob@example.test", "bob password")
typ, data = B.xatom("URLFETCH", '"%s"' % url)
assert typ == "OK", data
typ, data = B.response("URLFETCH")
assert b"body 0" in data[0][1], data
typ, data = A.xatom("RESETKEY", "INBOX")
assert typ == "OK", data
typ, data = B.xatom("URLFETCH", '"%s"' % url)
typ, data = B.response("URLFETCH")
assert data[0].endswith(b" NIL"), data
A.logout()
B.logout()
print("ok")
`
	out, err := exec.Command(python, "-c", script, port(in.imap), in.cert).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}
