package sieve

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentRunsShareRegexps runs one script whose :regex key holds
// a variable from several goroutines (go test -race checks the cache).
func TestConcurrentRunsShareRegexps(t *testing.T) {
	s, err := Compile([]byte(`require ["variables", "regex", "fileinto"];
set "w" "numb";
if header :regex "subject" "^Q.*${w}ers$" { fileinto "Q"; }`), nil)
	if err != nil {
		t.Fatal(err)
	}
	const msg = "Subject: Quarterly numbers\r\n\r\nx\r\n"
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				res, err := s.Run(context.Background(), &Input{Message: strings.NewReader(msg), Size: int64(len(msg))})
				if err != nil || len(res.Actions) != 1 {
					t.Errorf("run: %v, %#v", err, res)
					return
				}
				if f, ok := res.Actions[0].(FileInto); !ok || f.Mailbox != "Q" {
					t.Errorf("actions %#v", res.Actions)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(s.prog.(*program).regexps.m); n != 1 {
		t.Errorf("%d regexps cached, want 1", n)
	}
}
