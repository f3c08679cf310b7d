package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of everything under the data directory: it holds password hashes,
// SCRAM keys, DKIM keys and mail, none of it for other local users.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// secureDataDir creates dir if needed and makes it and everything in it
// private to the owner, whatever modes an earlier version, a restore or
// an admin left: directories 0700, regular files 0600. Sockets keep their
// mode (it is how they are shared) and symbolic links are not followed.
// Inside blobs/, whose files are created 0600 (os.CreateTemp) and never
// rewritten, only the directories are visited, so a start does not read
// every message's inode; with every directory 0700 no other user reaches
// them anyway. A dir that group or others may write is refused: anyone
// who can write it can replace index.db.
func secureDataDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, dirMode)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("data dir %s is not a directory", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("data dir %s can be written by other users (mode %04o): refusing to start; run chmod 700 %s",
			dir, fi.Mode().Perm(), dir)
	}
	blobs := filepath.Join(dir, "blobs")
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := chmodIf(path, d, dirMode); err != nil {
				return err
			}
			if filepath.Dir(path) == blobs && path != filepath.Join(blobs, "tmp") {
				return fs.SkipDir // a fan-out directory of committed blobs
			}
			return nil
		case d.Type().IsRegular():
			return chmodIf(path, d, fileMode)
		}
		return nil
	})
}

// chmodIf sets path's permission bits to mode unless they already are.
func chmodIf(path string, d fs.DirEntry, mode fs.FileMode) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == mode {
		return nil
	}
	return os.Chmod(path, mode)
}

// createPrivate creates path, if it does not exist, with mode 0600 before
// SQLite opens it: SQLite gives index.db-wal and index.db-shm the mode of
// the database file (findCreateFileMode in os_unix.c, kept by
// modernc.org/sqlite), so they are 0600 too whatever the umask.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return err
	}
	return f.Close()
}
