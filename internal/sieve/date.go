package sieve

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// The date extension (RFC 5260 §4, §5).

func dateSpecs() []*spec {
	zone := []tagSpec{{name: "zone", param: pString, group: "zone"}, {name: "originalzone", group: "zone"}}
	return []*spec{
		{name: "date", test: true, match: true, tags: append(zone, indexTags()[:2]...),
			pos: []posArg{{pString, "header name"}, {pString, "date part"}, {pList, "key list"}}, check: checkDate, run: runDate},
		{name: "currentdate", test: true, match: true, tags: zone[:1],
			pos: []posArg{{pString, "date part"}, {pList, "key list"}}, check: checkDate, run: runDate},
	}
}

type dateData struct {
	header *str
	part   string
	zone   *time.Location // nil: local, or the original zone
	orig   bool
	index  int
}

var dateParts = map[string]bool{"year": true, "month": true, "day": true, "date": true, "julian": true, "hour": true,
	"minute": true, "second": true, "time": true, "iso8601": true, "std11": true, "zone": true, "weekday": true}

func checkDate(c *checker, n *node) {
	d := &dateData{}
	parts := n.pargs
	if n.name == "date" {
		d.header = c.str1(parts[0])
		parts = parts[1:]
	}
	d.part = strings.ToLower(parts[0].str())
	if !dateParts[d.part] {
		c.errorf(parts[0].pos, "the "+n.name+" test: invalid date part '"+parts[0].str()+"'")
	}
	if a, ok := n.tag("zone"); ok {
		loc, ok := parseZone(a.str())
		if !ok {
			c.warnf(a.pos, "specified :zone argument '"+a.str()+"' is not a valid timezone")
		}
		d.zone = loc
	}
	_, d.orig = n.tag("originalzone")
	hd := &headerData{}
	c.index(n, hd)
	d.index = hd.index
	n.data = d
	n.mt = c.newMatcher(n, parts[1])
}

// parseZone reads "+hhmm" / "-hhmm" (RFC 5260 §4.1).
func parseZone(s string) (*time.Location, bool) {
	if len(s) != 5 || s[0] != '+' && s[0] != '-' {
		return nil, false
	}
	var h, m int
	if _, err := fmt.Sscanf(s[1:], "%02d%02d", &h, &m); err != nil || h > 23 || m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone(s, off), true
}

func runDate(x *exec, n *node) (bool, error) {
	d := n.data.(*dateData)
	var times []time.Time
	if n.name == "currentdate" {
		times = []time.Time{x.now()}
	} else {
		for _, v := range pickIndex(x.headerValues([]string{x.expand(d.header)}), d.index) {
			if i := strings.LastIndexByte(v, ';'); i >= 0 { // Received: the date is at the end
				v = v[i+1:]
			}
			t, err := mail.ParseDate(strings.TrimSpace(v))
			if err == nil {
				times = append(times, t)
			}
		}
	}
	var vals []string
	for _, t := range times {
		switch {
		case d.zone != nil:
			t = t.In(d.zone)
		case !d.orig:
			t = t.In(x.zone())
		}
		vals = append(vals, datePart(t, d.part))
	}
	return n.mt.match(x, vals)
}

func (x *exec) zone() *time.Location {
	return x.now().Location()
}

func datePart(t time.Time, part string) string {
	switch part {
	case "year":
		return fmt.Sprintf("%04d", t.Year())
	case "month":
		return fmt.Sprintf("%02d", int(t.Month()))
	case "day":
		return fmt.Sprintf("%02d", t.Day())
	case "date":
		return t.Format("2006-01-02")
	case "julian":
		// Modified Julian Day: days since 1858-11-17 (RFC 5260 §4.2).
		y, m, dd := t.Date()
		day := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
		return fmt.Sprint(int(day.Sub(time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)).Hours() / 24))
	case "hour":
		return fmt.Sprintf("%02d", t.Hour())
	case "minute":
		return fmt.Sprintf("%02d", t.Minute())
	case "second":
		return fmt.Sprintf("%02d", t.Second())
	case "time":
		return t.Format("15:04:05")
	case "iso8601":
		return t.Format("2006-01-02T15:04:05-07:00")
	case "std11":
		return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
	case "zone":
		return t.Format("-0700")
	case "weekday":
		return fmt.Sprint(int(t.Weekday()))
	}
	return ""
}
