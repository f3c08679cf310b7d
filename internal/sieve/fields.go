package sieve

import "strings"

// decoded is the field's value unfolded and RFC 2047 decoded (RFC 5228
// §5.7), computed once per Run however many tests read it.
func (f *field) decoded() string {
	if !f.decDone {
		f.dec, f.decDone = decodeHeader(f.value()), true
	}
	return f.dec
}

// addresses are the addresses of the field's value (RFC 5228 §5.1),
// parsed once per Run.
func (f *field) addresses() []string {
	if !f.addrsDone {
		f.addrs, f.addrsDone = parseAddresses(f.decoded()), true
	}
	return f.addrs
}

// namedFields returns the fields of fs named by d, in order, with
// :index applied (RFC 5260 §6). The slice is scratch, valid until the
// next call.
func (x *exec) namedFields(fs []*field, d *headerData) []*field {
	names := d.fixed
	if names == nil {
		names = x.expandList(d.names)
	}
	x.fieldBuf = x.fieldBuf[:0]
	for _, f := range fs {
		for _, name := range names {
			if strings.EqualFold(f.name, name) {
				x.fieldBuf = append(x.fieldBuf, f)
				break
			}
		}
	}
	return pickIndex(x.fieldBuf, d.index)
}

// fixedStrs is l's strings when none holds a variable, nil otherwise.
func fixedStrs(l []*str) []string {
	out := make([]string, len(l))
	for i, s := range l {
		if s.dyn {
			return nil
		}
		out[i] = s.s
	}
	return out
}
