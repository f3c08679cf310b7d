package dns

import (
	"sync"
	"time"
)

// maxCacheEntries bounds the cache: at about 200 bytes an entry, 2 MB.
const maxCacheEntries = 10000

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	a       answer
	expires time.Time
}

// cache keeps answers until they expire. When full it drops the expired
// entries, and if none had expired, all of them: simple, bounded, and a
// full cache only happens under a flood of distinct names.
type cache struct {
	mu  sync.Mutex
	m   map[cacheKey]cacheEntry
	max int
}

func newCache(max int) *cache { return &cache{m: map[cacheKey]cacheEntry{}, max: max} }

func (c *cache) get(k cacheKey, now time.Time) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !now.Before(e.expires) {
		return answer{}, false
	}
	return e.a, true
}

func (c *cache) put(k cacheKey, a answer, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		now := time.Now()
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[k] = cacheEntry{a, expires}
}
