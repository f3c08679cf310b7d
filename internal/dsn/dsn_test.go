package dsn

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const original = "Received: from client\r\nFrom: <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: hello\r\n\r\nBody line\r\n"

func TestGolden(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		r    Report
	}{
		{"failed-headers", Report{ReportingMTA: "mx.a.test", To: "alice@a.test", EnvID: "env1", Arrival: at,
			Date: at.Add(time.Minute), Recipients: []Recipient{
				{Final: "nobody@b.test", Original: "rfc822;nobody@b.test", Action: "failed", Status: "5.1.1",
					RemoteMTA: "mx.b.test", Diagnostic: "550 5.1.1 No such user", Human: "mx.b.test[127.0.0.1]: 550 5.1.1 No such user"},
				{Final: "gone@b.test", Action: "failed", Status: "5.2.1", RemoteMTA: "mx.b.test",
					Diagnostic: "550 5.2.1 Mailbox disabled", Human: "mx.b.test[127.0.0.1]: 550 5.2.1 Mailbox disabled"},
			}}},
		{"delayed-full", Report{ReportingMTA: "mx.a.test", To: "alice@a.test", Arrival: at, Date: at.Add(4 * time.Hour),
			Full: true, Recipients: []Recipient{{Final: "bob@b.test", Action: "delayed", Status: "4.4.1",
				Diagnostic: "451 4.4.1 connection refused", Human: "451 4.4.1 connection refused", RetryUntil: at.Add(120 * time.Hour)}}}},
		{"delivered", Report{ReportingMTA: "mx.a.test", To: "alice@a.test", Arrival: at, Date: at,
			Recipients: []Recipient{{Final: "carol@a.test", Action: "delivered", Status: "2.0.0", Human: "delivered to the mailbox"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Boundary, tc.r.MessageID = "BOUNDARY", "dsn-1@mx.a.test"
			tc.r.Original = strings.NewReader(original)
			got, err := Build(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				os.WriteFile(path, got, 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
			checkMIME(t, got)
		})
	}
}

// checkMIME parses the report as a MIME reader would: three parts, the
// second one message/delivery-status.
func checkMIME(t *testing.T, b []byte) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatal("not multipart")
	}
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := p.Header.ContentType()
		types = append(types, ct)
	}
	if len(types) != 3 || types[1] != "message/delivery-status" {
		t.Fatalf("parts %v", types)
	}
}

// A UTF-8 address makes the report global (RFC 6533).
func TestInternational(t *testing.T) {
	b, err := Build(Report{ReportingMTA: "mx.a.test", To: "alice@a.test", Original: strings.NewReader(original),
		Recipients: []Recipient{{Final: "josé@b.test", Action: "failed", Status: "5.1.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Content-Type: message/global-delivery-status", "Final-Recipient: utf-8; josé@b.test"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("lacks %q:\n%s", want, b)
		}
	}
}
