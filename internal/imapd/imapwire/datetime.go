package imapwire

import "time"

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// DateTime reads a date-time (RFC 9051 §9), as in APPEND:
// DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE,
// e.g. "17-Jul-1996 02:44:25 -0700" or " 7-Jul-1996 02:44:25 +0000". The
// month name is matched in any case. The result carries the zone offset;
// a leap second (":60") is normalised to the next minute.
func (d *Decoder) DateTime() (time.Time, error) {
	if err := d.expect('"', "date-time"); err != nil {
		return time.Time{}, err
	}
	var day int
	var err error
	if d.Consume(' ') { // date-day-fixed = (SP DIGIT) / 2DIGIT
		day, err = d.fixedDigits(1, "day")
	} else {
		day, err = d.fixedDigits(2, "day")
	}
	if err != nil {
		return time.Time{}, err
	}
	year, month, err := d.monthYear()
	if err != nil {
		return time.Time{}, err
	}
	var clock [3]int
	for i, max := range [3]int{23, 59, 60} {
		sep, what := byte(':'), "time"
		if i == 0 {
			sep = ' '
		}
		if err := d.expect(sep, what); err != nil {
			return time.Time{}, err
		}
		if clock[i], err = d.fixedDigits(2, what); err != nil {
			return time.Time{}, err
		}
		if clock[i] > max {
			return time.Time{}, d.syntax("invalid time")
		}
	}
	if err := d.SP(); err != nil {
		return time.Time{}, err
	}
	sign := 1
	if d.Consume('-') {
		sign = -1
	} else if err := d.expect('+', "zone"); err != nil {
		return time.Time{}, err
	}
	zone, err := d.fixedDigits(4, "zone")
	if err != nil {
		return time.Time{}, err
	}
	if zone/100 > 23 || zone%100 > 59 {
		return time.Time{}, d.syntax("invalid zone")
	}
	if err := d.expect('"', "end of date-time"); err != nil {
		return time.Time{}, err
	}
	if day < 1 || day > daysIn(month, year) {
		return time.Time{}, d.syntax("invalid day of month")
	}
	loc := time.FixedZone("", sign*(zone/100*3600+zone%100*60))
	return time.Date(year, month, day, clock[0], clock[1], clock[2], 0, loc), nil
}

// Date reads a date (RFC 9051 §9, as in SEARCH BEFORE): "d-Mon-yyyy",
// optionally quoted. It returns midnight UTC of that day; SEARCH compares
// dates without time or zone (RFC 9051 §6.4.4).
func (d *Decoder) Date() (time.Time, error) {
	quoted := d.Consume('"')
	day, err := d.fixedDigits(1, "day") // date-day = 1*2DIGIT
	if err != nil {
		return time.Time{}, err
	}
	if b, err := d.peek(); err == nil && '0' <= b && b <= '9' {
		d.advance(b)
		day = day*10 + int(b-'0')
	}
	year, month, err := d.monthYear()
	if err != nil {
		return time.Time{}, err
	}
	if quoted {
		if err := d.expect('"', "end of date"); err != nil {
			return time.Time{}, err
		}
	}
	if day < 1 || day > daysIn(month, year) {
		return time.Time{}, d.syntax("invalid day of month")
	}
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC), nil
}

// monthYear reads "-" date-month "-" date-year.
func (d *Decoder) monthYear() (int, time.Month, error) {
	if err := d.expect('-', "-"); err != nil {
		return 0, 0, err
	}
	var name [3]byte
	for i := range name {
		b, err := d.peek()
		if err != nil {
			return 0, 0, err
		}
		if !('a' <= b|0x20 && b|0x20 <= 'z') {
			return 0, 0, d.syntax("expected month")
		}
		d.advance(b)
		name[i] = b | 0x20
	}
	month := time.Month(0)
	for i, m := range months {
		if m == string(name[:]) {
			month = time.Month(i + 1)
		}
	}
	if month == 0 {
		return 0, 0, d.syntax("unknown month %q", name[:])
	}
	if err := d.expect('-', "-"); err != nil {
		return 0, 0, err
	}
	year, err := d.fixedDigits(4, "year")
	return year, month, err
}

// fixedDigits reads exactly n digits.
func (d *Decoder) fixedDigits(n int, what string) (int, error) {
	v := 0
	for range n {
		b, err := d.peek()
		if err != nil {
			return 0, err
		}
		if b < '0' || b > '9' {
			return 0, d.syntax("expected %s", what)
		}
		d.advance(b)
		v = v*10 + int(b-'0')
	}
	return v, nil
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
