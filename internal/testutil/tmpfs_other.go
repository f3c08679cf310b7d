//go:build !linux

package testutil

import "testing"

// Tmpfs skips the test: mounting a tmpfs is Linux's.
func Tmpfs(t testing.TB, size int64) string {
	t.Skip("tmpfs mounts need Linux")
	return ""
}

// FillDisk is not reached: Tmpfs skips.
func FillDisk(t testing.TB, dir string) { t.Skip("tmpfs mounts need Linux") }
