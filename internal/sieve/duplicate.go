package sieve

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// The duplicate extension (RFC 7352).

func duplicateSpecs() []*spec {
	return []*spec{{name: "duplicate", test: true, tags: []tagSpec{
		{name: "handle", param: pString}, {name: "header", param: pString, group: "id"}, {name: "uniqueid", param: pString, group: "id"},
		{name: "seconds", param: pNumber}, {name: "last"}}, check: checkDuplicate, run: runDuplicate}}
}

type duplicateData struct {
	handle, header, uniqueid *str
	period                   time.Duration
	last                     bool
}

func checkDuplicate(c *checker, n *node) {
	d := &duplicateData{period: 7 * 24 * time.Hour}
	if a, ok := n.tag("handle"); ok {
		d.handle = c.str1(a)
	}
	if a, ok := n.tag("header"); ok {
		d.header = c.str1(a)
		if !d.header.dyn && !validFieldName(d.header.s) {
			c.errorf(a.pos, "duplicate test: invalid header name '"+d.header.s+"'")
		}
	}
	if a, ok := n.tag("uniqueid"); ok {
		d.uniqueid = c.str1(a)
	}
	if a, ok := n.tag("seconds"); ok {
		d.period = time.Duration(min(a.num, 1<<32)) * time.Second
	}
	_, d.last = n.tag("last")
	n.data = d
}

// runDuplicate: the key is the handle and the unique ID (by default the
// Message-ID, RFC 7352 §3); it is remembered once the actions are done.
func runDuplicate(x *exec, n *node) (bool, error) {
	d := n.data.(*duplicateData)
	id := ""
	switch {
	case d.uniqueid != nil:
		id = x.expand(d.uniqueid)
	default:
		name := "message-id"
		if d.header != nil {
			name = x.expand(d.header)
		}
		vals := x.headerValues([]string{name})
		if len(vals) == 0 {
			return false, nil
		}
		id = vals[0]
	}
	handle := ""
	if d.handle != nil {
		handle = x.expand(d.handle)
	}
	h := sha256.Sum256([]byte(handle + "\x00" + id))
	key := "duplicate:" + hex.EncodeToString(h[:16])
	seen := false
	for _, m := range x.res.Remember {
		if m.Key == key {
			seen = true
		}
	}
	if !seen && x.in.Memory != nil {
		var err error
		if seen, err = x.in.Memory.Seen(x.ctx, key); err != nil {
			return false, runtimeErr(n, "duplicate test: "+err.Error())
		}
	}
	if !seen || d.last {
		x.res.Remember = append(x.res.Remember, Mark{Key: key, Expires: x.now().Add(d.period)})
	}
	return seen, nil
}
