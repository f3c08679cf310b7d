package sqlite

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDataDirModes opens a store in a data dir left world-readable, with
// files of an older version, under a permissive umask, writes to it so
// that SQLite makes its -wal and -shm files, and checks every directory
// is 0700 and every file 0600.
func TestDataDirModes(t *testing.T) {
	old := syscall.Umask(0o002) // not parallel: the umask is per process
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	for _, d := range []string{dir, filepath.Join(dir, "dkim", "example.test"), filepath.Join(dir, "blobs", "ab")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
	}
	for _, f := range []string{"index.db", "selfsigned.crt", "dkim/example.test/ed25519.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	openWithDomain(t, dir) // writes, so that SQLite makes -wal and -shm
	seen := map[string]bool{}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", strings.TrimPrefix(path, dir), fi.Mode().Perm(), want)
		}
		seen[d.Name()] = true
		return nil
	})
	for _, f := range []string{"index.db-wal", "index.db-shm", "tmp", "ff"} {
		if !seen[f] {
			t.Errorf("no %s under the data dir: the test checked less than it should", f)
		}
	}
}

// TestDataDirWritableByOthers checks that a data dir group or others may
// write is refused, and left as it was.
func TestDataDirWritableByOthers(t *testing.T) {
	t.Parallel()
	for _, mode := range []fs.FileMode{0o777, 0o770, 0o702} {
		dir := t.TempDir()
		os.Chmod(dir, mode)
		s, err := Open(context.Background(), dir, Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open of a %04o data dir succeeded", mode)
		}
		if !strings.Contains(err.Error(), "can be written by other users") {
			t.Errorf("Open of a %04o data dir: %v", mode, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "index.db")); err == nil {
			t.Errorf("%04o data dir: index.db created before refusing", mode)
		}
	}
}

// openWithDomain opens a store (as its owner) in dir, closed at the end
// of the test, and adds the domain example.test.
func openWithDomain(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.AddDomain(context.Background(), "example.test"); err != nil {
		t.Fatal(err)
	}
	return s
}
