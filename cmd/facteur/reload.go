package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/tlsutil"
)

// reloader is what SIGHUP reloads without dropping a session: the
// certificate and key files, and the log level from the config file.
// Everything else in the file (listeners, limits, checks) takes effect
// at the next start; a reload says so when the file changed it.
type reloader struct {
	certs *tlsutil.Certs
	level *slog.LevelVar
	log   *slog.Logger
	path  string // the config file; "" for the development instance
}

// waitServing serves until ctx ends or a listener fails (its error is
// returned), reloading on each SIGHUP.
func waitServing(ctx context.Context, srvs servers, r reloader) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-srvs.failed():
			r.log.Error("listener failed, shutting down", "err", err)
			return err
		case <-hup:
			r.reload()
		}
	}
}

// reload rereads what can be and logs what it did.
func (r reloader) reload() {
	changed, err := r.certs.Reload()
	switch {
	case err != nil:
		r.log.Error("reload: certificate not reloaded, keeping the one in use", "err", err)
	case changed:
		r.log.Info("reload: new certificate in use")
	default:
		r.log.Info("reload: certificate unchanged")
	}
	cfg, err := config.Load(r.path)
	if err != nil {
		r.log.Error("reload: config not read, keeping the settings in use", "err", err)
		return
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.Log.Level)); err == nil && lvl != r.level.Level() {
		r.log.Info("reload: log level", "from", r.level.Level().String(), "to", lvl.String())
		r.level.Set(lvl)
	}
	r.log.Info("reload: done; listeners, limits and checks change at the next start")
}
