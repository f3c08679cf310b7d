package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"facteur.dev/facteur/internal/srs"
)

// srsRewriter returns the SRS rewriter keyed by data_dir/srs.key (32
// random bytes made at the first start, mode 0600): the same key must
// check the addresses made before a restart.
func srsRewriter(dataDir string) (*srs.Rewriter, error) {
	path := filepath.Join(dataDir, "srs.key")
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("srs key: %w", err)
		}
		_, err = f.Write(key)
		if cerr := f.Sync(); err == nil {
			err = cerr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("srs key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("srs key: %w", err)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("srs key %s: too short", path)
	}
	return &srs.Rewriter{Secret: key}, nil
}
