package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dataKey returns the secret in data_dir/NAME, making it (32 random
// bytes, mode 0600, fsynced) at the first start: keys that must outlive a
// restart (srs.key, scram.key).
func dataKey(dataDir, name string) ([]byte, error) {
	path := filepath.Join(dataDir, name)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = makeKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("%s: too short", path)
	}
	return key, nil
}

func makeKey(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(key)
	if cerr := f.Sync(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return key, err
}
