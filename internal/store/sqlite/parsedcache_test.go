package sqlite

import (
	"fmt"
	"strings"
	"testing"
)

// The same text gives the same value without decoding again, a different
// text its own value, bad JSON an error; the two generations stay within
// their byte bound and an entry used again survives a flush.
func TestParsedCache(t *testing.T) {
	var c parsedCache
	a1, err := c.decode(`{"size":10,"message_id":"a@x"}`)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := c.decode(`{"size":10,"message_id":"a@x"}`)
	b, _ := c.decode(`{"size":11,"message_id":"b@x"}`)
	if a1 != a2 || a1 == b || a1.MessageID != "a@x" || b.Size != 11 {
		t.Fatalf("a1=%p a2=%p b=%p %+v %+v", a1, a2, b, a1, b)
	}
	if _, err := c.decode(`{"size":`); err == nil {
		t.Fatal("bad JSON decoded")
	}
	pad := strings.Repeat("x", 4000)
	for i := range 3 * parsedCacheBytes / 4000 {
		if _, err := c.decode(fmt.Sprintf(`{"size":%d,"preview":%q}`, i, pad)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			if p, _ := c.decode(`{"size":10,"message_id":"a@x"}`); p != a1 {
				t.Fatal("an entry in use was dropped")
			}
		}
	}
	total := 0
	for k := range c.cur {
		total += len(k)
	}
	for k := range c.old {
		total += len(k)
	}
	if total > 2*parsedCacheBytes {
		t.Fatalf("%d bytes cached, bound %d", total, 2*parsedCacheBytes)
	}
	huge := fmt.Sprintf(`{"preview":%q}`, strings.Repeat("y", parsedCacheBytes/8))
	h1, _ := c.decode(huge)
	if h2, _ := c.decode(huge); h1 == h2 {
		t.Fatal("a structure over the per-entry bound was cached")
	}
}
