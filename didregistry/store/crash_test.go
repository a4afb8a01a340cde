package store

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/pgtest"
	istore "github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

// TestMain runs the crash child when asked to: the parent test re-executes
// this binary with TONG_CRASH_DB set and kills it at a random moment.
func TestMain(m *testing.M) {
	if db := os.Getenv("TONG_CRASH_DB"); db != "" {
		os.Exit(crashChild(db, os.Getenv("TONG_CRASH_LOGKEY")))
	}
	if db := os.Getenv("TONG_LEASE_DB"); db != "" {
		os.Exit(leaseChild(db, os.Getenv("TONG_LEASE_LOGKEY")))
	}
	os.Exit(pgtest.Main(m))
}

// crashChild appends new DIDs from 8 goroutines as fast as it can and
// prints "ack <index> <entryHash> <treeSize> <root>" for each acknowledged
// operation, until it is killed.
func crashChild(path, seedHex string) int {
	seed, _ := hex.DecodeString(seedHex)
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, path, istore.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	signer, _, _ := didregistry.NewNoteSigner(testOrigin, ed25519.NewKeyFromSeed(seed))
	l, err := Open(ctx, Config{DB: db, Origin: testOrigin, Signer: signer})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				op, err := didregistry.NewGenesis(k, docFor(didregistry.PlaceholderDID, mustMultikey(&k.PublicKey)), []crypto.PublicKey{&k.PublicKey}, nil, time.Now())
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				leaf, _ := op.Canonical()
				r, err := l.Append(ctx, leaf)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				p := l.Latest()
				mu.Lock()
				fmt.Fprintf(out, "ack %d %s %d %s\n", r.Index, didregistry.EntryHash(leaf), p.Size, base64.StdEncoding.EncodeToString(p.Root[:]))
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

func mustMultikey(pub crypto.PublicKey) string {
	mk, err := did.EncodeMultikey(pub)
	if err != nil {
		panic(err)
	}
	return mk
}

// A child appends under load and is killed with SIGKILL at random points,
// several times. After each kill: every acknowledged operation is in the
// log, the log verifies, and the newest checkpoint is consistent with the
// last one the child had published.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crash.db")
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	logKey := ed25519.NewKeyFromSeed(seed)
	_, vkey, _ := didregistry.NewNoteSigner(testOrigin, logKey)
	verifier, _ := note.NewVerifier(vkey)
	total := 0
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "TONG_CRASH_DB="+path, "TONG_CRASH_LOGKEY="+hex.EncodeToString(seed))
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		type ack struct {
			index     int64
			entryHash string
			size      int64
			root      string
		}
		acks := make(chan ack, 1<<16)
		first := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stdout)
			acked := false
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 5 && f[0] == "ack" {
					i, _ := strconv.ParseInt(f[1], 10, 64)
					s, _ := strconv.ParseInt(f[3], 10, 64)
					acks <- ack{i, f[2], s, f[4]}
					if !acked {
						acked = true
						close(first)
					}
				}
			}
			if !acked {
				close(first) // the child died without acknowledging: the check below says so
			}
			close(acks)
		}()
		// The kill comes at a random moment after the child's first
		// acknowledgement (a fixed delay from its start was sometimes
		// before it, on a loaded machine, and the round proved nothing).
		select {
		case <-first:
		case <-time.After(2 * time.Minute):
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(400))
		time.Sleep(time.Duration(n.Int64()) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		var got []ack
		for a := range acks {
			got = append(got, a)
		}
		if len(got) == 0 {
			t.Fatalf("round %d: the child acknowledged nothing: %s", round, stderr.String())
		}
		total += len(got)

		db, err := sqlitedb.Open(t.Context(), path, istore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range got {
			var h string
			if err := db.Reader().QueryRowContext(t.Context(), `SELECT entry_hash FROM registry_entries WHERE idx = $1`, a.index).Scan(&h); err != nil || h != a.entryHash {
				t.Fatalf("round %d: acknowledged entry %d is %q (%v), want %s", round, a.index, h, err, a.entryHash)
			}
		}
		rep, err := Verify(t.Context(), db, didregistry.Rules{}, testOrigin, verifier, nil)
		if err != nil {
			t.Fatalf("round %d: Verify after SIGKILL = %v", round, err)
		}
		// The newest checkpoint on disk is consistent with the last one
		// the child published.
		var last ack
		for _, a := range got {
			if a.size > last.size {
				last = a
			}
		}
		signer, _, _ := didregistry.NewNoteSigner(testOrigin, logKey)
		l, err := Open(t.Context(), Config{DB: db, Origin: testOrigin, Signer: signer})
		if err != nil {
			t.Fatalf("round %d: reopen = %v", round, err)
		}
		p := l.Latest()
		oldRoot, _ := base64.StdEncoding.DecodeString(last.root)
		tp, err := l.ProveConsistency(t.Context(), last.size, p.Size)
		if err != nil || tlog.CheckTree(tp, p.Size, p.Root, last.size, tlog.Hash(oldRoot)) != nil {
			t.Errorf("round %d: checkpoint %d is not consistent with the published %d (%v)", round, p.Size, last.size, err)
		}
		l.Close()
		db.Close()
		t.Logf("round %d: %d acknowledged, log has %d entries, verified in %s", round, len(got), rep.Entries, rep.Elapsed)
	}
	if total == 0 {
		t.Fatal("no operation was acknowledged")
	}
}
