// Package benchprof profiles the timed part of a benchmark alone.
// go test -cpuprofile covers the preparation too, which for the load
// benchmarks costs more than the part measured.
package benchprof

import (
	"os"
	"runtime/pprof"
	"testing"
)

// Start writes a CPU profile to $TONG_BENCH_CPUPROFILE, when it is set,
// until the returned function is called.
func Start(b *testing.B) (stop func()) {
	path := os.Getenv("TONG_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
