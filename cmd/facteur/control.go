package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/sessions"
)

// controlHandler is the control socket's API: the queue's, and
// POST /sessions/end?account=ADDRESS (or ?domain=DOMAIN), which ends the
// logged-in sessions of an account the CLI deleted or disabled and
// answers {"ended": N}.
func controlHandler(queue http.Handler, reg *sessions.Registry, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", queue)
	mux.HandleFunc("POST /sessions/end", func(w http.ResponseWriter, req *http.Request) {
		n := 0
		if a := req.URL.Query().Get("account"); a != "" {
			n = reg.End(a)
		} else if d := req.URL.Query().Get("domain"); d != "" {
			n = reg.EndDomain(d)
		}
		log.Info("sessions ended by the admin", "account", req.URL.Query().Get("account"), "domain", req.URL.Query().Get("domain"), "sessions", n)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int{"ended": n})
	})
	return mux
}

// endedSessions tells the admin what endSessions did, if anything.
func endedSessions(ctx context.Context, e *env, query string) {
	cfg, err := config.Load(e.configPath)
	if err != nil {
		return
	}
	if n := endSessions(ctx, cfg, query); n > 0 {
		fmt.Fprintf(e.stdout, "ended %d open session(s)\n", n)
	}
}

// endSessions asks the running server, if there is one, to end the
// sessions of what query names ("account=…" or "domain=…"); it returns
// how many ended, and -1 when no server runs on cfg's data dir.
func endSessions(ctx context.Context, cfg *config.Config, query string) int {
	sock := controlSocket(cfg)
	if _, err := os.Stat(sock); err != nil {
		return -1
	}
	var out struct {
		Ended int `json:"ended"`
	}
	if err := controlClient(sock).do(ctx, "POST", "/sessions/end?"+query, &out); err != nil {
		return -1
	}
	return out.Ended
}
