package managesieve

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// TestSCRAM logs in with SCRAM-SHA-256 (RFC 7677) through the
// continuation form: each challenge a quoted base64 string, the server's
// final message answered with an empty string.
func TestSCRAM(t *testing.T) {
	for _, tc := range []struct {
		pass, want string
	}{{password, "OK"}, {"wrong", "NO"}} {
		e := newEnv(t, nil)
		c := e.dial()
		c.starttls(e.clientTLS)
		client, err := scram.SHA256.NewClient("alice@example.test", tc.pass, "")
		if err != nil {
			t.Fatal(err)
		}
		conv := client.NewConversation()
		first, _ := conv.Step("")
		c.Send(`AUTHENTICATE "SCRAM-SHA-256" "` + b64(first) + `"`)
		serverFirst := unquoteB64(t, c.Line())
		final, err := conv.Step(serverFirst)
		if err != nil {
			t.Fatal(err)
		}
		c.Send(`"` + b64(final) + `"`)
		l := c.Line()
		if tc.want == "NO" {
			if !strings.HasPrefix(l, "NO") {
				t.Fatalf("wrong password: %q", l)
			}
			continue
		}
		if _, err := conv.Step(unquoteB64(t, l)); err != nil {
			t.Fatalf("server signature: %v", err)
		}
		c.expect(`""`, "OK")
		c.expect("LISTSCRIPTS", "OK")
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unquoteB64(t *testing.T, l string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.Trim(l, `"`))
	if err != nil {
		t.Fatalf("challenge %q: %v", l, err)
	}
	return string(b)
}
