package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

func TestGroupTxCommitsEachAndIsolatesFailures(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := context.Background()
		db := x.Open(t, store.Options{})
		if _, err := db.Writer().Exec(`CREATE TABLE g (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		errBoom := errors.New("boom")
		const n = 200
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.GroupTx(ctx, func(tx *sql.Tx) error {
					if _, err := tx.Exec(`INSERT INTO g (k, v) VALUES ($1, $2)`, fmt.Sprint("k", i), i); err != nil {
						return err
					}
					if i%10 == 3 {
						return errBoom // written, then rolled back alone
					}
					return nil
				})
			}()
		}
		wg.Wait()
		want := 0
		for i, err := range errs {
			if i%10 == 3 {
				if !errors.Is(err, errBoom) {
					t.Errorf("caller %d: err = %v, want boom", i, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
			want++
		}
		var got int
		if err := db.Reader().QueryRow(`SELECT COUNT(*) FROM g`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("rows = %d, want %d (failed callers' writes must not stand)", got, want)
		}
		// A unique violation in one caller does not poison the group.
		err := db.GroupTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO g (k, v) VALUES ('k0', 0)`)
			return err
		})
		if !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate key: %v, want a unique violation", err)
		}
	})
}

func TestGroupTxAfterClose(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "g.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.GroupTx(ctx, func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := db.GroupTx(ctx, func(*sql.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

func BenchmarkGroupTx(b *testing.B) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(b.TempDir(), "g.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Writer().Exec(`CREATE TABLE g (k BIGINT PRIMARY KEY)`); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	next := 0
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			next++
			k := next
			mu.Unlock()
			if err := db.GroupTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.Exec(`INSERT INTO g (k) VALUES ($1)`, k)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkWriteTx(b *testing.B) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(b.TempDir(), "g.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Writer().Exec(`CREATE TABLE g (k BIGINT PRIMARY KEY)`); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if err := db.WriteTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO g (k) VALUES ($1)`, i)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		db := x.Open(t, store.Options{})
		if _, err := db.Writer().Exec(`CREATE TABLE u (k TEXT PRIMARY KEY, v TEXT UNIQUE, n BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Writer().Exec(`INSERT INTO u (k, v, n) VALUES ('a', 'x', 1)`); err != nil {
			t.Fatal(err)
		}
		_, pk := db.Writer().Exec(`INSERT INTO u (k, v, n) VALUES ('a', 'y', 1)`)
		_, uniq := db.Writer().Exec(`INSERT INTO u (k, v, n) VALUES ('b', 'x', 1)`)
		_, notNull := db.Writer().Exec(`INSERT INTO u (k, v, n) VALUES ('c', 'z', NULL)`)
		if !store.IsUniqueViolation(pk) || !store.IsUniqueViolation(uniq) {
			t.Fatalf("duplicate keys not recognised: %v / %v", pk, uniq)
		}
		if notNull == nil || store.IsUniqueViolation(notNull) || store.IsUniqueViolation(nil) {
			t.Fatalf("other errors taken for duplicates: %v", notNull)
		}
	})
}
