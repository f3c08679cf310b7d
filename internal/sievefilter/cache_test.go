package sievefilter

import (
	"context"
	"testing"
)

// TestCompiledCache: one compilation per account and source; a changed
// script is compiled again.
func TestCompiledCache(t *testing.T) {
	f := &Filter{}
	ctx := context.Background()
	src := []byte("keep;")
	a, err := f.compiled(ctx, 1, "s", src)
	if err != nil {
		t.Fatal(err)
	}
	src[0] = 'x' // the caller's buffer may be reused: the cache keeps a copy
	if b, _ := f.compiled(ctx, 1, "s", []byte("keep;")); b != a {
		t.Error("same source compiled again")
	}
	if c, _ := f.compiled(ctx, 1, "s", []byte("discard;")); c == a {
		t.Error("changed source served from the cache")
	}
	if d, _ := f.compiled(ctx, 2, "s", []byte("keep;")); d == a {
		t.Error("another account's script served")
	}
}
