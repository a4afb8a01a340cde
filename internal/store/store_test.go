package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func migrations(files ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i+1 < len(files); i += 2 {
		fsys[files[i]] = &fstest.MapFile{Data: []byte(files[i+1])}
	}
	return fsys
}

func TestOpenPragmas(t *testing.T) {
	t.Parallel()
	db, err := sqlitedb.Open(t.Context(), filepath.Join(t.TempDir(), "tong.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	} {
		var got string
		if err := db.Writer().QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
	if _, err := db.Reader().ExecContext(ctx, "CREATE TABLE nope (x INT)"); err == nil {
		t.Errorf("reader pool accepted a write; want query_only")
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if db.Engine() != store.SQLite {
		t.Errorf("Engine() = %q, want sqlite", db.Engine())
	}
}

func TestMigrateRealFile(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		v1 := migrations(
			"0001_people.sql", `CREATE TABLE people (id BIGINT PRIMARY KEY, name TEXT NOT NULL, photo BLOB);`,
		)
		db, err := x.OpenErr(ctx, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if db.Engine() != x.Engine {
			t.Errorf("Engine() = %q, want %q", db.Engine(), x.Engine)
		}
		n, err := db.Migrate(ctx, "demo", v1)
		if err != nil || n != 1 {
			t.Fatalf("Migrate(v1) = %d, %v; want 1, nil", n, err)
		}
		photo := []byte{0, 1, 2, 0xff}
		if _, err := db.Writer().ExecContext(ctx, `INSERT INTO people (id, name, photo) VALUES ($1, $2, $3)`, 1, "Li Wei", photo); err != nil {
			t.Fatal(err)
		}
		db.Close()

		// Reopen the same database with one more migration: only the new one
		// runs, and the data written before survives.
		v2 := migrations(
			"0001_people.sql", `CREATE TABLE people (id BIGINT PRIMARY KEY, name TEXT NOT NULL, photo BLOB);`,
			"0002_email.sql", `ALTER TABLE people ADD COLUMN email TEXT;`,
		)
		db = x.Open(t, store.Options{})
		if m, err := db.Check(ctx, "demo", v2); err != nil || m != 1 {
			t.Fatalf("Check(v2) = %d, %v; want 1 missing", m, err)
		}
		n, err = db.Migrate(ctx, "demo", v2)
		if err != nil || n != 1 {
			t.Fatalf("Migrate(v2) = %d, %v; want 1, nil", n, err)
		}
		n, err = db.Migrate(ctx, "demo", v2)
		if err != nil || n != 0 {
			t.Fatalf("Migrate(v2) again = %d, %v; want 0, nil", n, err)
		}
		var name string
		var got []byte
		if err := db.Reader().QueryRowContext(ctx, `SELECT name, photo FROM people WHERE id = $1`, 1).Scan(&name, &got); err != nil || name != "Li Wei" || string(got) != string(photo) {
			t.Fatalf("row after reopen = %q %x, %v; want Li Wei %x", name, got, err, photo)
		}
		if v, err := db.Version(ctx, "demo"); err != nil || v != 2 {
			t.Fatalf("Version = %d, %v; want 2", v, err)
		}
		// Another component keeps its own numbering.
		if v, err := db.Version(ctx, "other"); err != nil || v != 0 {
			t.Fatalf("Version(other) = %d, %v; want 0", v, err)
		}

		// A binary that knows only v1 refuses a v2 database.
		if _, err := db.Migrate(ctx, "demo", v1); !errors.Is(err, store.ErrNewerSchema) {
			t.Fatalf("Migrate(older code) = %v, want ErrNewerSchema", err)
		}
		if _, err := db.Check(ctx, "demo", v1); !errors.Is(err, store.ErrNewerSchema) {
			t.Fatalf("Check(older code) = %v, want ErrNewerSchema", err)
		}
	})
}

// Per-engine files override the shared one on their engine only.
func TestMigratePerEngineFiles(t *testing.T) {
	t.Parallel()
	fsys := migrations(
		"0001_t.sql", `CREATE TABLE t (k TEXT PRIMARY KEY, who TEXT NOT NULL);`,
		"0002_seed.sql", `INSERT INTO t (k, who) VALUES ('a', 'shared');`,
		"0002_seed.sqlite.sql", `INSERT INTO t (k, who) VALUES ('a', 'sqlite');`,
		"0002_seed.postgres.sql", `INSERT INTO t (k, who) VALUES ('a', 'postgres');`,
		"0003_more.postgres.sql", `INSERT INTO t (k, who) VALUES ('b', 'postgres');`,
		"0003_more.sqlite.sql", `INSERT INTO t (k, who) VALUES ('b', 'sqlite');`,
	)
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		db := x.Open(t, store.Options{})
		if n, err := db.Migrate(t.Context(), "e", fsys); err != nil || n != 3 {
			t.Fatalf("Migrate = %d, %v; want 3", n, err)
		}
		for _, k := range []string{"a", "b"} {
			var who string
			if err := db.Reader().QueryRowContext(t.Context(), `SELECT who FROM t WHERE k = $1`, k).Scan(&who); err != nil || who != string(x.Engine) {
				t.Errorf("row %s written by %q, %v; want %q", k, who, err, x.Engine)
			}
		}
	})
	// A version with a file for one engine only is refused on the other.
	only := migrations("0001_t.sqlite.sql", `SELECT 1;`)
	if _, err := store.LoadMigrations(only, store.PostgreSQL); err == nil {
		t.Errorf("LoadMigrations(sqlite-only file, postgres) = nil error, want one")
	}
	if ms, err := store.LoadMigrations(only, store.SQLite); err != nil || len(ms) != 1 {
		t.Errorf("LoadMigrations(sqlite-only file, sqlite) = %d, %v; want 1", len(ms), err)
	}
}

// Replicas that start together migrate once between them.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	x := pgtest.Target{Engine: store.PostgreSQL, Addr: pgtest.URLForTest(t)}
	fsys := migrations(
		"0001_a.sql", `CREATE TABLE a (x BIGINT);`,
		"0002_b.sql", `INSERT INTO a (x) VALUES (1);`,
	)
	var wg sync.WaitGroup
	applied := make([]int, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := x.OpenErr(t.Context(), store.Options{Conns: 2})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			applied[i], errs[i] = db.Migrate(t.Context(), "c", fsys)
		}()
	}
	wg.Wait()
	total := 0
	for i := range 4 {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	if total != 2 {
		t.Errorf("migrations applied in all = %d, want 2 (each once)", total)
	}
	db := x.Open(t, store.Options{})
	var n int
	db.Reader().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM a`).Scan(&n)
	if n != 1 {
		t.Errorf("rows seeded = %d, want 1", n)
	}
}

func tableExists(t *testing.T, db *store.DB, name string) bool {
	t.Helper()
	q := `SELECT COUNT(*) FROM sqlite_master WHERE name = $1`
	if db.Engine() == store.PostgreSQL {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1`
	}
	var count int
	if err := db.Reader().QueryRowContext(t.Context(), q, name).Scan(&count); err != nil {
		t.Fatal(err)
	}
	return count != 0
}

func TestMigrateFailureRollsBack(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		db := x.Open(t, store.Options{})
		ctx := t.Context()
		bad := migrations(
			"0001_ok.sql", `CREATE TABLE a (x INT);`,
			"0002_bad.sql", `CREATE TABLE b (y INT); THIS IS NOT SQL;`,
		)
		n, err := db.Migrate(ctx, "c", bad)
		if err == nil || n != 1 {
			t.Fatalf("Migrate(bad) = %d, %v; want 1 and an error", n, err)
		}
		if v, _ := db.Version(ctx, "c"); v != 1 {
			t.Errorf("Version after failed step = %d, want 1", v)
		}
		if !tableExists(t, db, "a") {
			t.Errorf("table a is missing after its migration")
		}
		if tableExists(t, db, "b") {
			t.Errorf("table b exists after a failed migration; want the step rolled back")
		}
	})
}

func TestLoadMigrationsRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
	}{
		{"gap", migrations("0001_a.sql", "SELECT 1;", "0003_c.sql", "SELECT 1;")},
		{"duplicate", migrations("0001_a.sql", "SELECT 1;", "0001_b.sql", "SELECT 1;")},
		{"duplicate engine file", migrations("0001_a.postgres.sql", "SELECT 1;", "0001_b.postgres.sql", "SELECT 1;")},
		{"bad name", migrations("1_a.sql", "SELECT 1;")},
		{"unknown engine", migrations("0001_a.mysql.sql", "SELECT 1;")},
		{"starts at 2", migrations("0002_a.sql", "SELECT 1;")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := store.LoadMigrations(tc.fsys, store.PostgreSQL); err == nil {
				t.Errorf("LoadMigrations(%s) = nil error, want one", tc.name)
			}
		})
	}
}

// Many goroutines write at once: none fails (no SQLITE_BUSY, no
// serialization failure left to the caller) and every row is there.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		db := x.Open(t, store.Options{})
		ctx := t.Context()
		if _, err := db.Migrate(ctx, "w", migrations("0001_t.sql", `CREATE TABLE t (k TEXT PRIMARY KEY)`)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					err := db.WriteTx(ctx, func(tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES ($1)`, fmt.Sprintf("%d-%d", g, i))
						return err
					})
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("WriteTx: %v", err)
		}
		var n int
		db.Reader().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM t`).Scan(&n)
		if n != 200 {
			t.Errorf("rows = %d, want 200", n)
		}
	})
}

// A read-then-write transaction (read a counter, write it plus one) loses
// no update when many run at once, on either engine: SQLite's one writer
// serializes them, PostgreSQL's SERIALIZABLE isolation and WriteTx's
// retries do the same across connections (and so across replicas).
func TestWriteTxReadModifyWrite(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		db := x.Open(t, store.Options{})
		other := x.Open(t, store.Options{}) // a second replica's pool
		if _, err := db.Migrate(ctx, "rmw", migrations("0001_c.sql", `CREATE TABLE c (id BIGINT PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO c VALUES (1, 0);`)); err != nil {
			t.Fatal(err)
		}
		const workers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := db
				if w%2 == 1 {
					d = other
				}
				for range each {
					errs <- d.WriteTx(ctx, func(tx *sql.Tx) error {
						var n int64
						if err := tx.QueryRowContext(ctx, `SELECT n FROM c WHERE id = 1`).Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, `UPDATE c SET n = $1 WHERE id = 1`, n+1)
						return err
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("WriteTx: %v", err)
			}
		}
		var n int64
		db.Reader().QueryRowContext(ctx, `SELECT n FROM c WHERE id = 1`).Scan(&n)
		if n != workers*each {
			t.Errorf("counter = %d, want %d (an update was lost)", n, workers*each)
		}
	})
}

// ReadCommittedTx: 32 callers moving one counter on by UPDATE ... RETURNING
// at once each run once (no serialization failure, so no retry) and each
// get a value of their own; the transaction runs at READ COMMITTED on
// PostgreSQL, and a failing fn writes nothing.
func TestReadCommittedTx(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		db := x.Open(t, store.Options{Conns: 40})
		if _, err := db.Migrate(ctx, "rc", migrations("0001_c.sql", `CREATE TABLE c (id BIGINT PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO c VALUES (1, 0);`)); err != nil {
			t.Fatal(err)
		}
		const callers = 32
		var runs atomic.Int64
		got := make([]int64, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				errs[i] = db.ReadCommittedTx(ctx, func(tx *sql.Tx) error {
					runs.Add(1)
					return tx.QueryRowContext(ctx, `UPDATE c SET n = n + 1 WHERE id = 1 RETURNING n`).Scan(&got[i])
				})
			})
		}
		close(start)
		wg.Wait()
		seen := map[int64]bool{}
		for i, err := range errs {
			if err != nil {
				t.Errorf("ReadCommittedTx #%d = %v", i, err)
			}
			if seen[got[i]] || got[i] < 1 || got[i] > callers {
				t.Errorf("caller %d got %d: want distinct values in 1..%d", i, got[i], callers)
			}
			seen[got[i]] = true
		}
		if runs.Load() != callers {
			t.Errorf("fn ran %d times for %d callers, want once each", runs.Load(), callers)
		}
		if x.Engine == store.PostgreSQL {
			var level string
			err := db.ReadCommittedTx(ctx, func(tx *sql.Tx) error {
				return tx.QueryRowContext(ctx, `SHOW transaction_isolation`).Scan(&level)
			})
			if err != nil || level != "read committed" {
				t.Errorf("transaction_isolation = %q, %v, want read committed", level, err)
			}
		}
		boom := errors.New("boom")
		err := db.ReadCommittedTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE c SET n = 0 WHERE id = 1`); err != nil {
				return err
			}
			return boom
		})
		var n int64
		db.Reader().QueryRowContext(ctx, `SELECT n FROM c WHERE id = 1`).Scan(&n)
		if !errors.Is(err, boom) || n != callers {
			t.Errorf("failing ReadCommittedTx = %v, counter %d; want boom and %d (rolled back)", err, n, callers)
		}
	})
}

// TestStrings: a one-column query's values come back in the query's
// order, none is an empty slice, and a query error is returned.
func TestStrings(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		db := x.Open(t, store.Options{})
		ctx := t.Context()
		if err := db.WriteTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE t_strings (id TEXT PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
				return err
			}
			for i, id := range []string{"c", "a", "b"} {
				if _, err := tx.ExecContext(ctx, `INSERT INTO t_strings (id, n) VALUES ($1, $2)`, id, i); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := store.Strings(ctx, db.Reader(), `SELECT id FROM t_strings WHERE n >= $1 ORDER BY n DESC`, 0)
		if err != nil || strings.Join(got, ",") != "b,a,c" {
			t.Fatalf("Strings = %v, %v; want b,a,c", got, err)
		}
		if got, err := store.Strings(ctx, db.Reader(), `SELECT id FROM t_strings WHERE n > $1`, 9); err != nil || len(got) != 0 {
			t.Fatalf("Strings of no rows = %v, %v", got, err)
		}
		if _, err := store.Strings(ctx, db.Reader(), `SELECT nope FROM t_strings`); err == nil {
			t.Fatal("Strings of a bad query: no error")
		}
	})
}
