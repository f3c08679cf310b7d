package sievefilter

import (
	"bytes"
	"context"
	"sync"

	"facteur.dev/facteur/internal/sieve"
)

// cacheMax bounds the compiled scripts kept; past it, the cache starts
// over (each account's next delivery compiles again).
const cacheMax = 4096

// cache keeps compiled scripts by account, with their source, so a
// script is compiled once, not once per message: a delivery compares the
// active script with the cached one's source, which costs less than
// hashing it. Scripts that include others are not kept: an included
// script may change without the active one.
type cache struct {
	mu      sync.Mutex
	scripts map[int64]cached
}

type cached struct {
	src    []byte
	script *sieve.Script
}

// compiled returns the account's script compiled.
func (f *Filter) compiled(ctx context.Context, account int64, name string, src []byte) (*sieve.Script, error) {
	f.cache.mu.Lock()
	c, ok := f.cache.scripts[account]
	f.cache.mu.Unlock()
	if ok && bytes.Equal(c.src, src) {
		return c.script, nil
	}
	included := false
	s, err := sieve.Compile(src, &sieve.CompileOptions{Name: name, Include: func(inc string, global bool) ([]byte, error) {
		included = true
		if global {
			if f.Global == nil {
				return nil, errNoGlobal
			}
			return f.Global(inc)
		}
		return f.Scripts.GetSieveScript(ctx, account, inc)
	}})
	if err != nil || included {
		return s, err
	}
	f.cache.mu.Lock()
	if f.cache.scripts == nil || len(f.cache.scripts) >= cacheMax {
		f.cache.scripts = map[int64]cached{}
	}
	f.cache.scripts[account] = cached{src: bytes.Clone(src), script: s}
	f.cache.mu.Unlock()
	return s, nil
}
