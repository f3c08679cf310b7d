package main

import (
	"strings"
	"testing"
)

func TestRelaySmall(t *testing.T) {
	var out strings.Builder
	if err := run(50, 4096, "", 4, 2, false, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "relayed 50 messages of 4096 bytes") {
		t.Fatalf("output %q", out.String())
	}
	if m := message(1, 4096); len(m) != 4096 {
		t.Fatalf("message size %d", len(m))
	}
}
