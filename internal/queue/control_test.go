package queue

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestControlAPI(t *testing.T) {
	t.Parallel()
	a, _, _ := twoSites(t)
	r := New(Options{Store: a.store, Pipeline: a.pipeline, Resolver: fakeResolver{}})
	a.send("alice@a.test", []string{"x@later.test"}, testMessage("alice@a.test", "x@later.test", "ctl"), nil)
	id := a.queue()[0].ID
	h := r.Handler()
	call := func(method, path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code, rec.Body.String()
	}
	ids := func(s string) string { return strings.ReplaceAll(s, "ID", itoa(id)) }
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/queue", 200, `"recipients":["x@later.test"]`},
		{"GET", ids("/queue/ID"), 200, `"domain":"later.test"`},
		{"GET", "/queue/99999", 404, "no such queue entry"},
		{"GET", "/queue/abc", 404, "no such queue entry"},
		{"POST", ids("/queue/ID/hold"), 200, ""},
		{"GET", ids("/queue/ID"), 200, `"held":true`},
		{"POST", ids("/queue/ID/flush"), http.StatusConflict, "is held: release it first"},
		{"POST", ids("/queue/ID/release"), 200, ""},
		{"POST", ids("/queue/ID/flush"), 200, ""},
		{"POST", "/queue/flush", 200, `"flushed":1`},
		{"DELETE", ids("/queue/ID"), 200, ""},
		{"DELETE", ids("/queue/ID"), 404, "no such queue entry"},
		{"GET", "/queue", 200, "[]"},
	} {
		code, body := call(tc.method, tc.path)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Fatalf("%s %s: %d %s, want %d %q", tc.method, tc.path, code, body, tc.code, tc.body)
		}
	}
	if q := a.queue(); len(q) != 0 {
		t.Fatalf("queue %+v", q)
	}
}
