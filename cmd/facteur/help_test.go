package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// Help asked for goes to standard output with success, for the program
// and for every command; usage after a mistake goes to standard error
// with status 2 (issue 16 §13).
func TestHelpGoesToStdout(t *testing.T) {
	runArgs := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
		return out.String(), errb.String(), err
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, errs, err := runArgs(args...)
		if (err != nil && !errors.Is(err, flag.ErrHelp)) || !strings.Contains(out, "Usage: facteur") || errs != "" {
			t.Fatalf("%v: err %v, stdout %q, stderr %q", args, err, out, errs)
		}
	}
	for _, c := range commands() {
		out, errs, err := runArgs(c.name, "--help")
		if !errors.Is(err, flag.ErrHelp) && err != nil {
			t.Fatalf("%s --help: %v", c.name, err)
		}
		if !strings.Contains(out, "Usage: facteur "+c.name) || errs != "" {
			t.Fatalf("%s --help: stdout %q, stderr %q", c.name, out, errs)
		}
	}
	out, errs, err := runArgs("user", "frobnicate")
	var ue usageError
	if !errors.As(err, &ue) || out != "" || !strings.Contains(errs, "Usage: facteur user") {
		t.Fatalf("a mistake: err %v, stdout %q, stderr %q", err, out, errs)
	}
}
