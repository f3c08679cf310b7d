package sieve

import (
	"regexp"
	"sync"
)

// regexpCacheMax bounds a script's cache of run-time regexps; past it,
// the cache starts over.
const regexpCacheMax = 256

// regexpCache keeps the regexps of a script's keys that hold variables
// (RFC 5229 §3), compiled at run time, for every Run of the script: Runs
// may be concurrent.
type regexpCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

// get returns the regexp cached under k, compiling and keeping it when
// absent. A key that does not compile is not kept.
func (c *regexpCache) get(k string, compile func() (*regexp.Regexp, error)) (*regexp.Regexp, error) {
	c.mu.Lock()
	re, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := compile()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= regexpCacheMax {
		c.m = map[string]*regexp.Regexp{}
	}
	c.m[k] = re
	c.mu.Unlock()
	return re, nil
}
