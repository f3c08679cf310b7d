package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without a running server the queue CLI says so and fails (exit 1, not
// a usage error); bad arguments are usage errors (exit 2).
func TestQueueCLIWithoutServer(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "f.toml")
	os.WriteFile(cfg, []byte("hostname = \"mx.test\"\ndata_dir = \""+dir+"\"\n"), 0o600)
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	err := run(context.Background(), []string{"--config", cfg, "queue", "list"}, e)
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "is 'facteur serve' running?") {
		t.Fatalf("queue list without server: %v", err)
	}
	for _, args := range [][]string{{"queue"}, {"queue", "show"}, {"queue", "show", "x"}, {"queue", "frobnicate"},
		{"queue", "list", "extra"}} {
		if err := run(context.Background(), append([]string{"--config", cfg}, args...), e); !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
