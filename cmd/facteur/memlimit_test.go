package main

import "testing"

func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		configured int64
		procs      int
		want       int64
	}{
		{0, 2, 384 << 20}, // 256 MiB + two 64 MiB argon2id hashes
		{0, 8, 768 << 20},
		{1 << 30, 2, 1 << 30},
	} {
		if got := memoryLimit(c.configured, c.procs); got != c.want {
			t.Errorf("memoryLimit(%d, %d) = %d MiB, want %d MiB", c.configured, c.procs, got>>20, c.want>>20)
		}
	}
}
