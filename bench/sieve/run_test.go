package sievebench

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"facteur.dev/facteur/internal/sieve"
)

type none struct{}

func (none) Exists(context.Context, string) bool               { return false }
func (none) SpecialUse(context.Context, string) (string, bool) { return "", false }
func (none) ByID(context.Context, string) (string, bool)       { return "", false }
func (none) Seen(context.Context, string) (bool, error)        { return false, nil }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRun: the 100-rule script on the 4 KiB message, the message
// parsed by every Run as at delivery.
func BenchmarkRun(b *testing.B) {
	s, err := sieve.Compile([]byte(Script(100)), &sieve.CompileOptions{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	msg := Message()
	in := sieve.Input{Message: bytes.NewReader(msg), Size: int64(len(msg)), Envelope: sieve.Envelope{From: "alice@a.example", To: "bob@b.example"},
		User: "bob@b.example", Now: time.Now(), SpamPercent: -1, Mailboxes: none{}, Memory: none{}}
	ctx := context.Background()
	res, err := s.Run(ctx, &in)
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Actions) != 1 {
		b.Fatalf("actions %#v: a rule matched", res.Actions)
	}
	if _, ok := res.Actions[0].(sieve.Keep); !ok {
		b.Fatalf("actions %#v: a rule matched", res.Actions)
	}
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		run := in
		if _, err := s.Run(ctx, &run); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := cpuTime() - c0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "msgs/cpu-s")
	}
}
