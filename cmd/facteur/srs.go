package main

import "facteur.dev/facteur/internal/srs"

// srsRewriter returns the SRS rewriter keyed by data_dir/srs.key (32
// random bytes made at the first start, mode 0600): the same key must
// check the addresses made before a restart.
func srsRewriter(dataDir string) (*srs.Rewriter, error) {
	key, err := dataKey(dataDir, "srs.key")
	if err != nil {
		return nil, err
	}
	return &srs.Rewriter{Secret: key}, nil
}
