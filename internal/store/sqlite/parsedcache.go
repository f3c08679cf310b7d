package sqlite

import (
	"encoding/json"
	"sync"

	"facteur.dev/facteur/internal/message"
)

// parsedCacheBytes bounds each of parsedCache's two generations by the
// length of the texts they hold (the decoded values take about as much
// again): at most 8 MiB of text in all.
const parsedCacheBytes = 4 << 20

// parsedCache keeps decoded parsed columns (a message's envelope, MIME
// structure and offsets, stored as JSON) by their text. Decoding them was
// 16% of the server's CPU under imaptest stress, where every session
// FETCHes ENVELOPE and sections of the same messages. A text always
// decodes to the same value, so an entry is never stale whatever was
// written since; the map key is the text itself, so nothing can collide.
// The values are shared by every caller: store.Message.Parsed is read-only.
//
// Two generations bound it: when the current one is full it becomes the
// old one and the old one is dropped; a hit in the old one moves forward.
type parsedCache struct {
	mu       sync.Mutex
	cur, old map[string]*message.Parsed
	curBytes int
}

// decode returns the value of a parsed column.
func (c *parsedCache) decode(text string) (*message.Parsed, error) {
	c.mu.Lock()
	p, ok := c.cur[text]
	if !ok {
		if p, ok = c.old[text]; ok {
			c.putLocked(text, p)
		}
	}
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p = new(message.Parsed)
	if err := json.Unmarshal([]byte(text), p); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.putLocked(text, p)
	c.mu.Unlock()
	return p, nil
}

func (c *parsedCache) putLocked(text string, p *message.Parsed) {
	if len(text) > parsedCacheBytes/16 {
		return // one huge structure must not flush the rest
	}
	if c.cur == nil || c.curBytes+len(text) > parsedCacheBytes {
		c.old, c.cur, c.curBytes = c.cur, map[string]*message.Parsed{}, 0
	}
	c.cur[text] = p
	c.curBytes += len(text)
}
