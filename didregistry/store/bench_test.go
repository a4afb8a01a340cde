package store

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/benchprof"
	"github.com/tongid/tong/internal/pgtest"
	istore "github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/pgdb"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

// genesisLeaves pre-signs n create operations, so the benchmark measures
// the registry, not the clients.
func genesisLeaves(b *testing.B, n int) [][]byte {
	b.Helper()
	out := make([][]byte, n)
	base := time.Now().Add(-time.Minute)
	for i := range out {
		k := newKey(b)
		op, err := didregistry.NewGenesis(k, docFor(didregistry.PlaceholderDID, mustMultikey(&k.PublicKey)), []crypto.PublicKey{&k.PublicKey}, nil, base)
		if err != nil {
			b.Fatal(err)
		}
		out[i], _ = op.Canonical()
	}
	return out
}

// The reference: checking one operation's ES256 signature.
func BenchmarkRawVerify(b *testing.B) {
	k := newKey(b)
	d := sha256.Sum256([]byte("op"))
	r, s, _ := ecdsa.Sign(rand.Reader, k, d[:])
	for b.Loop() {
		ecdsa.Verify(&k.PublicKey, d[:], r, s)
	}
}

// Durable appends of signed create operations from many concurrent
// clients, with group commit on SQLite (synchronous=FULL).
func BenchmarkAppend(b *testing.B) {
	leaves := genesisLeaves(b, b.N)
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	db, err := sqlitedb.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), istore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	signer, _, _ := didregistry.NewNoteSigner(testOrigin, logKey)
	l, err := Open(b.Context(), Config{DB: db, Origin: testOrigin, Signer: signer})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var next atomic.Int64
	b.SetParallelism(64)
	stop := benchprof.Start(b)
	defer stop()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if _, err := l.Append(b.Context(), leaves[i]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

// Resolving a DID from its chain (read, replay, build the document).
func BenchmarkResolveChain(b *testing.B) {
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	db, _ := sqlitedb.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), istore.Options{})
	defer db.Close()
	signer, _, _ := didregistry.NewNoteSigner(testOrigin, logKey)
	l, _ := Open(b.Context(), Config{DB: db, Origin: testOrigin, Signer: signer})
	defer l.Close()
	leaves := genesisLeaves(b, 64)
	for _, leaf := range leaves {
		if _, err := l.Append(b.Context(), leaf); err != nil {
			b.Fatal(err)
		}
	}
	op, _ := didregistry.ParseOperation(leaves[7])
	b.ResetTimer()
	for b.Loop() {
		chain, err := l.Chain(b.Context(), op.DID)
		if err != nil {
			b.Fatal(err)
		}
		states, err := didregistry.Replay(didregistry.Rules{}, chain, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := didregistry.ResolveStates(op.DID, states, did.ResolveOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyLog times `tong registry verify`'s work (Verify: replay
// every operation with its signature, recompute every stored hash, check
// every checkpoint) over a log of b.N operations, built before the timer.
// Run with -benchtime 1000000x for the figure in docs/benchmarks.md.
func BenchmarkVerifyLog(b *testing.B) {
	leaves := genesisLeaves(b, b.N)
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	db, err := sqlitedb.Open(b.Context(), filepath.Join(b.TempDir(), "verify.db"), istore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	signer, vkey, _ := didregistry.NewNoteSigner(testOrigin, logKey)
	l, err := Open(b.Context(), Config{DB: db, Origin: testOrigin, Signer: signer})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(leaves)) {
					return
				}
				if _, err := l.Append(b.Context(), leaves[i]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	l.Close()
	leaves = nil
	v, err := note.NewVerifier(vkey)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	rep, err := Verify(b.Context(), db, didregistry.Rules{}, testOrigin, v, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
	_ = rep
}

// Durable appends on each engine, in one run: SQLite (group commit,
// synchronous=FULL), and PostgreSQL with one and with three replicas (Logs
// with their own pools, clients spread over them round-robin). Run with
// PGTEST_FSYNC=on so that PostgreSQL's commits reach the disk too.
func BenchmarkAppendReplicas(b *testing.B) {
	run := func(b *testing.B, ls []*Log) {
		leaves := genesisLeaves(b, b.N)
		var next atomic.Int64
		b.SetParallelism(64)
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				r, err := ls[int(i)%len(ls)].Append(b.Context(), leaves[i])
				if err != nil || r.TreeSize <= r.Index {
					b.Errorf("Append = %+v, %v", r, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
	}
	b.Run("sqlite", func(b *testing.B) {
		_, logKey, _ := ed25519.GenerateKey(rand.Reader)
		db, err := sqlitedb.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), istore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		signer, _, _ := didregistry.NewNoteSigner(testOrigin, logKey)
		l, err := Open(b.Context(), Config{DB: db, Origin: testOrigin, Signer: signer})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		run(b, []*Log{l})
	})
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("postgres/replicas=%d", n), func(b *testing.B) {
			url := pgtest.URLForTest(b)
			_, logKey, _ := ed25519.GenerateKey(rand.Reader)
			var ls []*Log
			for i := range n {
				db, err := pgdb.Open(b.Context(), url, istore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				signer, _, _ := didregistry.NewNoteSigner(testOrigin, logKey)
				l, err := Open(b.Context(), Config{DB: db, Origin: testOrigin, Signer: signer, Logger: quiet, Holder: fmt.Sprint("r", i)})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				ls = append(ls, l)
			}
			run(b, ls)
		})
	}
}
