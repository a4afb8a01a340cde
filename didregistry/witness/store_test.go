package witness

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"

	"github.com/tongid/tong/internal/pgtest"
	istore "github.com/tongid/tong/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// stateReplicas opens the target's database as two witness replicas (on
// SQLite, where one process owns the file, one handle shared), migrated.
func stateReplicas(t *testing.T, x pgtest.Target) (sqlState, sqlState) {
	t.Helper()
	a, b := x.Replicas(t, istore.Options{})
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := a.Migrate(t.Context(), "witness", sub); err != nil {
		t.Fatal(err)
	}
	return sqlState{a}, sqlState{b}
}

// TestStateAdvance: a log's first checkpoint is decided against the zero
// state; a refusal records nothing; each replica sees the other's state.
func TestStateAdvance(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		a, b := stateReplicas(t, x)
		ctx := t.Context()
		var seen cosigned
		if err := a.advance(ctx, "log.example/a", cosigned{3, []byte("root3")}, func(last cosigned) bool { seen = last; return true }); err != nil {
			t.Fatal(err)
		}
		if seen.size != 0 || seen.root != nil {
			t.Fatalf("a new log's state = %+v, want zero", seen)
		}
		if err := b.advance(ctx, "log.example/a", cosigned{9, []byte("root9")}, func(last cosigned) bool { seen = last; return false }); err != nil {
			t.Fatal(err)
		}
		if seen.size != 3 || !bytes.Equal(seen.root, []byte("root3")) {
			t.Fatalf("the other replica read %+v, want size 3 root3", seen)
		}
		_ = a.advance(ctx, "log.example/a", cosigned{}, func(last cosigned) bool { seen = last; return false })
		if seen.size != 3 {
			t.Fatalf("a refused advance was recorded: %+v", seen)
		}
		_ = a.advance(ctx, "log.example/b", cosigned{}, func(last cosigned) bool { seen = last; return false })
		if seen.size != 0 {
			t.Fatalf("another log's state = %+v, want zero", seen)
		}
	})
}

// TestStateAdvanceRace: 16 requests on two replicas each try to move a log
// on from size 0 to a different checkpoint of size 5 (a forked log): the
// compare-and-swap lets exactly one through, and the state recorded is
// that one's, so the witness can never cosign two forks.
func TestStateAdvanceRace(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		a, b := stateReplicas(t, x)
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				s := a
				if i%2 == 1 {
					s = b
				}
				root := fmt.Sprintf("fork-%d", i)
				won := false
				err := s.advance(context.Background(), "log.example/a", cosigned{5, []byte(root)}, func(last cosigned) bool {
					won = last.size == 0 // assigned, not accumulated: decide may run again
					return won
				})
				if err != nil {
					t.Errorf("advance: %v", err)
					return
				}
				if won {
					mu.Lock()
					winners = append(winners, root)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("%d forks were accepted from the same state (%v), want exactly 1", len(winners), winners)
		}
		var got cosigned
		_ = a.advance(t.Context(), "log.example/a", cosigned{}, func(last cosigned) bool { got = last; return false })
		if got.size != 5 || string(got.root) != winners[0] {
			t.Fatalf("recorded %d %q, want the winner %q", got.size, got.root, winners[0])
		}
	})
}
