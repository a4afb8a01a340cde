package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "tong.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func migrations(files ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i+1 < len(files); i += 2 {
		fsys[files[i]] = &fstest.MapFile{Data: []byte(files[i+1])}
	}
	return fsys
}

func TestOpenPragmas(t *testing.T) {
	t.Parallel()
	db := openTest(t)
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
}

func TestMigrateRealFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tong.db")
	v1 := migrations(
		"0001_people.sql", `CREATE TABLE people (id BIGINT PRIMARY KEY, name TEXT NOT NULL);`,
	)
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Migrate(ctx, "demo", v1)
	if err != nil || n != 1 {
		t.Fatalf("Migrate(v1) = %d, %v; want 1, nil", n, err)
	}
	if _, err := db.Writer().ExecContext(ctx, `INSERT INTO people (id, name) VALUES ($1, $2)`, 1, "Li Wei"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Reopen the same file with one more migration: only the new one runs,
	// and the data written before survives.
	v2 := migrations(
		"0001_people.sql", `CREATE TABLE people (id BIGINT PRIMARY KEY, name TEXT NOT NULL);`,
		"0002_email.sql", `ALTER TABLE people ADD COLUMN email TEXT;`,
	)
	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err = db.Migrate(ctx, "demo", v2)
	if err != nil || n != 1 {
		t.Fatalf("Migrate(v2) = %d, %v; want 1, nil", n, err)
	}
	n, err = db.Migrate(ctx, "demo", v2)
	if err != nil || n != 0 {
		t.Fatalf("Migrate(v2) again = %d, %v; want 0, nil", n, err)
	}
	var name string
	if err := db.Reader().QueryRowContext(ctx, `SELECT name FROM people WHERE id = $1`, 1).Scan(&name); err != nil || name != "Li Wei" {
		t.Fatalf("row after reopen = %q, %v; want Li Wei", name, err)
	}
	if v, err := db.Version(ctx, "demo"); err != nil || v != 2 {
		t.Fatalf("Version = %d, %v; want 2", v, err)
	}
	// Another component keeps its own numbering.
	if v, err := db.Version(ctx, "other"); err != nil || v != 0 {
		t.Fatalf("Version(other) = %d, %v; want 0", v, err)
	}

	// A binary that knows only v1 refuses a v2 database.
	if _, err := db.Migrate(ctx, "demo", v1); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Migrate(older code) = %v, want ErrNewerSchema", err)
	}
}

func TestMigrateFailureRollsBack(t *testing.T) {
	t.Parallel()
	db := openTest(t)
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
	var count int
	db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'`).Scan(&count)
	if count != 0 {
		t.Errorf("table b exists after a failed migration; want the step rolled back")
	}
}

func TestLoadMigrationsRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
	}{
		{"gap", migrations("0001_a.sql", "SELECT 1;", "0003_c.sql", "SELECT 1;")},
		{"duplicate", migrations("0001_a.sql", "SELECT 1;", "0001_b.sql", "SELECT 1;")},
		{"bad name", migrations("1_a.sql", "SELECT 1;")},
		{"starts at 2", migrations("0002_a.sql", "SELECT 1;")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LoadMigrations(tc.fsys); err == nil {
				t.Errorf("LoadMigrations(%s) = nil error, want one", tc.name)
			}
		})
	}
}

// Many goroutines write at once: the single writer connection queues them,
// none fails with SQLITE_BUSY and every row is there.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	db := openTest(t)
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
}
