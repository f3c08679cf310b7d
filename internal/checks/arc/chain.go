package arc

import (
	"fmt"
	"strings"
)

// The header fields of an ARC set (RFC 8617 §4.1).
const (
	nameAAR = "ARC-Authentication-Results"
	nameAMS = "ARC-Message-Signature"
	nameAS  = "ARC-Seal"
)

// arcSet is the three header fields of one instance (RFC 8617 §4.2).
type arcSet struct {
	aar, ams, as *field
	payload      string            // the AAR's Authentication-Results payload
	amsTags      map[string]string // the AMS's tags
	asTags       map[string]string // the AS's tags
}

// collection is every ARC header field of a message, by instance.
type collection struct {
	sets    map[int]*arcSet
	highest int   // the highest instance number seen, in range or not
	err     error // the first malformed or repeated field
}

// collect gathers the ARC sets of hdr (RFC 8617 §5.2 step 1); nil when
// the message has no ARC header field.
func collect(hdr []field) *collection {
	var c *collection
	for i := range hdr {
		f := &hdr[i]
		if !isARC(f.name) {
			continue
		}
		if c == nil {
			c = &collection{sets: map[int]*arcSet{}}
		}
		c.add(f)
	}
	return c
}

func isARC(name string) bool {
	return strings.EqualFold(name, nameAAR) || strings.EqualFold(name, nameAMS) || strings.EqualFold(name, nameAS)
}

// add files the ARC field f under its instance.
func (c *collection) add(f *field) {
	n, payload, tags, err := instanceOf(f)
	c.highest = max(c.highest, n)
	if err != nil {
		c.fail(err)
		return
	}
	s := c.sets[n]
	if s == nil {
		s = &arcSet{}
		c.sets[n] = s
	}
	var slot **field
	switch {
	case strings.EqualFold(f.name, nameAAR):
		slot, s.payload = &s.aar, payload
	case strings.EqualFold(f.name, nameAMS):
		slot, s.amsTags = &s.ams, tags
	default:
		slot, s.asTags = &s.as, tags
	}
	if *slot != nil {
		c.fail(fmt.Errorf("two %s fields with i=%d (RFC 8617 §5.2 step 3)", f.name, n))
	}
	*slot = f
}

// instanceOf reads the instance of an ARC field, and the AAR's payload or
// the signature's tags.
func instanceOf(f *field) (n int, payload string, tags map[string]string, err error) {
	if strings.EqualFold(f.name, nameAAR) {
		n, payload, err = aarInstance(f.value())
		return n, payload, nil, err
	}
	if tags, err = parseTags(f.value()); err != nil {
		return 0, "", nil, fmt.Errorf("%s: %v (RFC 6376 §3.2)", f.name, err)
	}
	n, err = parseInstance(tags["i"])
	return n, "", tags, err
}

func (c *collection) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// newestCV is the cv= of the highest instance's ARC-Seal, "" when there
// is none or it cannot be read.
func (c *collection) newestCV() string {
	if s := c.sets[c.highest]; s != nil && s.as != nil {
		return strings.ToLower(s.asTags["cv"])
	}
	return ""
}

// chain checks the structure of the Authenticated Received Chain (RFC
// 8617 §5.2 step 3) and returns its sets, sets[i-1] for instance i.
func (c *collection) chain() ([]*arcSet, error) {
	if c.err != nil {
		return nil, c.err
	}
	sets := make([]*arcSet, c.highest)
	for i := 1; i <= c.highest; i++ {
		s := c.sets[i]
		if s == nil {
			return nil, fmt.Errorf("no ARC set with i=%d: instances must run from 1 to %d without a gap (RFC 8617 §5.2 step 3)", i, c.highest)
		}
		if err := s.complete(i); err != nil {
			return nil, err
		}
		sets[i-1] = s
	}
	return sets, nil
}

// complete checks that set i has its three fields and the cv= its place
// in the chain requires (RFC 8617 §5.2 step 3, §4.4).
func (s *arcSet) complete(i int) error {
	for _, f := range []struct {
		f    *field
		name string
	}{{s.aar, nameAAR}, {s.ams, nameAMS}, {s.as, nameAS}} {
		if f.f == nil {
			return fmt.Errorf("ARC set %d has no %s (RFC 8617 §5.2 step 3)", i, f.name)
		}
	}
	want := "pass"
	if i == 1 {
		want = "none"
	}
	if cv := strings.ToLower(s.asTags["cv"]); cv != want {
		return fmt.Errorf("ARC-Seal i=%d has cv=%s, want cv=%s (RFC 8617 §5.2 step 3)", i, cv, want)
	}
	return nil
}
