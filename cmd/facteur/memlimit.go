package main

import (
	"os"
	"runtime"
	"runtime/debug"

	"facteur.dev/facteur/internal/auth"
	"facteur.dev/facteur/internal/config"
)

// baseMemoryLimit is the part of the derived soft memory limit that is
// not password hashing: enough for 10,000 idle IMAP sessions (about
// 14 KiB each, heap and stacks) and the index's caches, with room to
// spare.
const baseMemoryLimit = 256 << 20

// setMemoryLimit gives the Go runtime a soft memory limit, unless
// GOMEMLIMIT is set: limits.memory_limit, or by default 256 MiB plus the
// memory of one argon2id verification per core (auth runs
// GOMAXPROCS/threads at once, auth.Options.MaxConcurrentHashes, so this
// is headroom; logins waiting for a hash hold no hash memory, and at most
// auth.max_queued_logins wait). GOGC=200 lets the heap grow to
// three times what is live between collections; after a burst of logins,
// whose hashes are 64 MiB each, that headroom alone took 10,000 idle
// sessions from about 150 MiB of live heap to 612 MiB of RSS. Under
// the limit the collector runs earlier and the scavenger returns the
// pages; it is soft: a server that needs more keeps working, with the
// collector running more often (bench/imapload -mode idle).
func setMemoryLimit(cfg *config.Config) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(memoryLimit(cfg.Limits.MemoryLimit, runtime.GOMAXPROCS(0)))
}

func memoryLimit(configured int64, procs int) int64 {
	if configured > 0 {
		return configured
	}
	return baseMemoryLimit + int64(procs)*int64(auth.DefaultParams.Memory)<<10
}
