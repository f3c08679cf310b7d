package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"facteur.dev/facteur/internal/store"
)

// Entry is a queue entry as the control API shows it.
type Entry struct {
	ID          int64                   `json:"id"`
	Sender      string                  `json:"sender"`
	Domain      string                  `json:"domain"`
	Recipients  []string                `json:"recipients"`
	Status      []store.RecipientStatus `json:"status"`
	Size        int64                   `json:"size"`
	Created     time.Time               `json:"created"`
	NextAttempt time.Time               `json:"next_attempt"`
	Attempts    int                     `json:"attempts"`
	LastError   string                  `json:"last_error,omitempty"`
	Held        bool                    `json:"held"`
}

func entryOf(m store.QueuedMessage) Entry {
	return Entry{ID: m.ID, Sender: m.Sender, Domain: m.Domain, Recipients: m.Recipients, Status: m.Status,
		Size: m.Size + int64(len(m.Headers)), Created: m.Created, NextAttempt: m.NextAttempt, Attempts: m.Attempts,
		LastError: m.LastError, Held: m.Held}
}

// Handler is the control API the queue CLI talks to (over a unix socket
// that only the server's user can open):
//
//	GET    /queue             list
//	GET    /queue/{id}        show
//	POST   /queue/flush       every unheld entry due now
//	POST   /queue/{id}/flush  one entry due now
//	POST   /queue/{id}/hold   hold
//	POST   /queue/{id}/release
//	DELETE /queue/{id}
//
// Errors are JSON {"error": "..."} with 404 for an unknown ID.
func (r *Runner) Handler() http.Handler {
	mux := http.NewServeMux()
	q := r.opts.Store
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, req *http.Request) {
		list, err := q.ListQueue(req.Context())
		out := []Entry{}
		for _, m := range list {
			out = append(out, entryOf(m))
		}
		reply(w, out, err)
	})
	mux.HandleFunc("GET /queue/{id}", withID(func(w http.ResponseWriter, req *http.Request, id int64) {
		m, err := q.GetQueued(req.Context(), id)
		reply(w, entryOf(m), err)
	}))
	mux.HandleFunc("POST /queue/flush", func(w http.ResponseWriter, req *http.Request) {
		n, err := q.FlushQueue(req.Context(), 0, r.now())
		r.Kick()
		reply(w, map[string]int{"flushed": n}, err)
	})
	mux.HandleFunc("POST /queue/{id}/{op}", withID(func(w http.ResponseWriter, req *http.Request, id int64) {
		var err error
		switch req.PathValue("op") {
		case "flush":
			var m store.QueuedMessage
			if m, err = q.GetQueued(req.Context(), id); err == nil && m.Held {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusConflict)
				json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("message %d is held: release it first", id)})
				return
			}
			if err == nil {
				_, err = q.FlushQueue(req.Context(), id, r.now())
				r.Kick()
			}
		case "hold":
			err = q.HoldQueued(req.Context(), id, true)
		case "release":
			err = q.HoldQueued(req.Context(), id, false)
			r.Kick()
		default:
			http.NotFound(w, req)
			return
		}
		reply(w, map[string]int64{"id": id}, err)
	}))
	mux.HandleFunc("DELETE /queue/{id}", withID(func(w http.ResponseWriter, req *http.Request, id int64) {
		reply(w, map[string]int64{"id": id}, q.DeleteQueued(req.Context(), id))
	}))
	return mux
}

func withID(fn func(http.ResponseWriter, *http.Request, int64)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		id, err := strconv.ParseInt(req.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			reply(w, nil, store.ErrNotFound)
			return
		}
		fn(w, req, id)
	}
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := http.StatusInternalServerError
		msg := err.Error()
		if errors.Is(err, store.ErrNotFound) {
			code, msg = http.StatusNotFound, "no such queue entry"
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	json.NewEncoder(w).Encode(v)
}
