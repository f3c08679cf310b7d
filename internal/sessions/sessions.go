// Package sessions keeps, for one process, the logged-in sessions of every
// protocol (IMAP, POP3, ManageSieve) by account, so that deleting or
// disabling an account ends them at once instead of at their next login.
package sessions

import (
	"strings"
	"sync"
)

// Registry is the logged-in sessions of a process. The zero value is
// ready; a nil Registry records nothing.
type Registry struct {
	mu sync.Mutex
	m  map[string]map[*entry]struct{} // lowercase address → sessions
}

type entry struct{ end func() }

// Add records a session of account; end ends it (closes its connection)
// and must be safe to call from another goroutine. The returned remove
// is called when the session ends on its own.
func (r *Registry) Add(account string, end func()) (remove func()) {
	if r == nil {
		return func() {}
	}
	key, e := strings.ToLower(account), &entry{end: end}
	r.mu.Lock()
	if r.m == nil {
		r.m = map[string]map[*entry]struct{}{}
	}
	if r.m[key] == nil {
		r.m[key] = map[*entry]struct{}{}
	}
	r.m[key][e] = struct{}{}
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if delete(r.m[key], e); len(r.m[key]) == 0 {
			delete(r.m, key)
		}
	}
}

// End ends every session of account and returns how many there were.
func (r *Registry) End(account string) int {
	if r == nil {
		return 0
	}
	key := strings.ToLower(account)
	r.mu.Lock()
	list := r.m[key]
	delete(r.m, key)
	r.mu.Unlock()
	for e := range list {
		e.end()
	}
	return len(list)
}

// EndDomain ends every session of the accounts of domain.
func (r *Registry) EndDomain(domain string) int {
	if r == nil {
		return 0
	}
	suffix := "@" + strings.ToLower(domain)
	r.mu.Lock()
	var accounts []string
	for a := range r.m {
		if strings.HasSuffix(a, suffix) {
			accounts = append(accounts, a)
		}
	}
	r.mu.Unlock()
	n := 0
	for _, a := range accounts {
		n += r.End(a)
	}
	return n
}
