//go:build cpuprofile

// A benchmarking aid, compiled only with -tags cpuprofile (see
// bench/pop3load/compare.sh): with FACTEUR_CPUPROFILE=FILE in the
// environment, SIGUSR1 starts a CPU profile of the running process and
// SIGUSR2 stops it and renames it to FILE once written, so a script profiles exactly the part
// of a run it measures.

package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func init() {
	path := os.Getenv("FACTEUR_CPUPROFILE")
	if path == "" {
		return
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		var f *os.File
		for s := range sig {
			switch {
			case s == syscall.SIGUSR1 && f == nil:
				f = startProfile(path)
			case s == syscall.SIGUSR2 && f != nil:
				pprof.StopCPUProfile()
				if err := f.Close(); err == nil {
					os.Rename(f.Name(), path)
				}
				f = nil
			}
		}
	}()
}

func startProfile(path string) *os.File {
	f, err := os.Create(path + ".tmp")
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "facteur: cpu profile:", err)
		return nil
	}
	return f
}
