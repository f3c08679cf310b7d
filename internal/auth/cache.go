package auth

import (
	"container/list"
	"sync"
	"time"
)

// verifyCache remembers, for ttl, digests of credentials that verified. It
// holds at most max entries, evicting the oldest. Since every entry lives for
// the same ttl, insertion order is expiry order and a list suffices.
type verifyCache struct {
	ttl time.Duration // <= 0: disabled
	max int

	mu      sync.Mutex
	entries map[[32]byte]*list.Element
	order   *list.List // of cacheEntry, oldest first
}

type cacheEntry struct {
	key     [32]byte
	expires time.Time
}

func newVerifyCache(ttl time.Duration, max int) *verifyCache {
	return &verifyCache{
		ttl:     ttl,
		max:     max,
		entries: make(map[[32]byte]*list.Element),
		order:   list.New(),
	}
}

// hit reports whether key was added less than ttl ago.
func (c *verifyCache) hit(key [32]byte, now time.Time) bool {
	if c.ttl <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return false
	}
	if !now.Before(el.Value.(cacheEntry).expires) {
		c.remove(el)
		return false
	}
	return true
}

// add remembers key for ttl from now.
func (c *verifyCache) add(key [32]byte, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	c.prune(now)
	c.entries[key] = c.order.PushBack(cacheEntry{key: key, expires: now.Add(c.ttl)})
}

// prune drops expired entries, then the oldest ones until there is room
// for one more.
func (c *verifyCache) prune(now time.Time) {
	for el := c.order.Front(); el != nil; el = c.order.Front() {
		expired := !now.Before(el.Value.(cacheEntry).expires)
		if !expired && len(c.entries) < c.max {
			return
		}
		c.remove(el)
	}
}

func (c *verifyCache) remove(el *list.Element) {
	delete(c.entries, el.Value.(cacheEntry).key)
	c.order.Remove(el)
}

// len returns the number of entries, expired or not.
func (c *verifyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
