package sievefilter

import (
	"context"
	"crypto/sha256"
	"sync"

	"facteur.dev/facteur/internal/sieve"
)

// cacheMax bounds the compiled scripts kept; past it, the cache starts
// over (each account's next delivery compiles again).
const cacheMax = 4096

// cache keeps compiled scripts by account and content, so a script is
// compiled once, not once per message. Scripts that include others are
// not kept: an included script may change without the active one.
type cache struct {
	mu      sync.Mutex
	scripts map[cacheKey]*sieve.Script
}

type cacheKey struct {
	account int64
	sum     [sha256.Size]byte
}

// compiled returns the account's script compiled.
func (f *Filter) compiled(ctx context.Context, account int64, name string, src []byte) (*sieve.Script, error) {
	key := cacheKey{account, sha256.Sum256(src)}
	f.cache.mu.Lock()
	s := f.cache.scripts[key]
	f.cache.mu.Unlock()
	if s != nil {
		return s, nil
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
		f.cache.scripts = map[cacheKey]*sieve.Script{}
	}
	f.cache.scripts[key] = s
	f.cache.mu.Unlock()
	return s, nil
}
