// Package store opens Tong's SQL database and applies each component's
// numbered, embedded migrations.
//
// # Embedded SQLite
//
// The default database is one SQLite file per data directory, opened through
// modernc.org/sqlite (pure Go, no cgo) with:
//
//   - journal_mode=WAL, so readers never block the writer;
//   - synchronous=FULL, so a committed transaction survives power loss and
//     kill -9 (acknowledged data is never lost);
//   - busy_timeout, so a second process waits instead of failing at once;
//   - foreign_keys=ON;
//   - one writer connection (BEGIN IMMEDIATE), so writers queue in Go rather
//     than spinning on SQLITE_BUSY, and a separate pool of query_only readers.
//
// # Portable SQL
//
// Migrations and queries use $1, $2, ... placeholders and types that
// PostgreSQL accepts too (TEXT, BIGINT, BLOB↔BYTEA is the one mapping the
// PostgreSQL driver will rewrite), so the same schema can run on pgx when a
// deployment scales out. SQLite-only statements (triggers, pragmas) are kept
// in files whose names end in .sqlite.sql.
//
// # Migrations
//
// Each component (the registry, the issuer, ...) owns a directory of files
// named NNNN_description.sql and hands it to [DB.Migrate] as an fs.FS.
// Versions are applied in order, each in its own transaction, and recorded in
// schema_migrations(component, version). A database that already holds a
// version newer than the code knows is refused rather than silently used.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another process before reporting SQLITE_BUSY.
const DefaultBusyTimeout = 10 * time.Second

// ErrNewerSchema reports a database migrated by a newer Tong than this one.
var ErrNewerSchema = errors.New("store: database schema is newer than this binary")

// Options tunes [Open]. The zero value is the safe default.
type Options struct {
	// BusyTimeout defaults to DefaultBusyTimeout.
	BusyTimeout time.Duration
	// Readers is the size of the read pool; zero means GOMAXPROCS*2.
	Readers int
	// Synchronous is the SQLite synchronous pragma. Empty means FULL.
	// NORMAL is only for benchmarks that say so: it may lose the last
	// transactions on power loss.
	Synchronous string
}

// DB is an open database: one writer connection and a pool of readers.
// All methods are safe for concurrent use.
type DB struct {
	write *sql.DB
	read  *sql.DB
	path  string
	group group
}

// Open opens (creating if needed) the SQLite database at file path p.
func Open(ctx context.Context, p string, opts Options) (*DB, error) {
	if p == "" {
		return nil, errors.New("store: empty database path")
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.Readers <= 0 {
		opts.Readers = runtime.GOMAXPROCS(0) * 2
	}
	switch strings.ToUpper(opts.Synchronous) {
	case "":
		opts.Synchronous = "FULL"
	case "FULL", "NORMAL", "EXTRA":
		opts.Synchronous = strings.ToUpper(opts.Synchronous)
	default:
		return nil, fmt.Errorf("store: synchronous must be FULL, EXTRA or NORMAL, not %q", opts.Synchronous)
	}
	pragmas := []string{
		"journal_mode(WAL)",
		"busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")",
		"foreign_keys(1)",
		"synchronous(" + opts.Synchronous + ")",
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(pragmas, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
	}
	write, err := sql.Open("sqlite", dsn()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", p, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", p, err)
	}
	read, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", p, err)
	}
	read.SetMaxOpenConns(opts.Readers)
	read.SetMaxIdleConns(opts.Readers)
	db := &DB{write: write, read: read, path: p}
	if err := db.ensureMigrationsTable(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// Writer is the single writer connection pool (at most one connection).
// Use it for INSERT/UPDATE and for reads that must see the writer's state.
func (db *DB) Writer() *sql.DB { return db.write }

// Reader is the read-only pool.
func (db *DB) Reader() *sql.DB { return db.read }

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close closes both pools. It is safe to call more than once.
func (db *DB) Close() error {
	db.group.close()
	return errors.Join(db.read.Close(), db.write.Close())
}

// WriteTx runs fn in one write transaction and commits it when fn returns
// nil. A commit that returns nil is durable (synchronous=FULL).
func (db *DB) WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (db *DB) ensureMigrationsTable(ctx context.Context) error {
	_, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	component  TEXT   NOT NULL,
	version    BIGINT NOT NULL,
	name       TEXT   NOT NULL,
	applied_at TEXT   NOT NULL,
	PRIMARY KEY (component, version)
)`)
	if err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	return nil
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+(\.sqlite)?\.sql$`)

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads NNNN_name.sql files from the root of fsys, in order.
// Versions must start at 1 and have no gaps or duplicates.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("store: migration file %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(fsys, path.Clean(e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("store: migration %s: want version %04d (versions start at 1 with no gaps or duplicates)", m.Name, i+1)
		}
	}
	return ms, nil
}

// Migrate applies component's migrations from fsys that the database does
// not have yet, each in its own transaction, and returns how many it applied.
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS) (int, error) {
	ms, err := LoadMigrations(fsys)
	if err != nil {
		return 0, err
	}
	var current int
	err = db.write.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = $1`, component).Scan(&current)
	if err != nil {
		return 0, fmt.Errorf("store: read schema version of %s: %w", component, err)
	}
	if current > len(ms) {
		return 0, fmt.Errorf("%w: %s is at version %d, this binary knows %d", ErrNewerSchema, component, current, len(ms))
	}
	applied := 0
	for _, m := range ms[current:] {
		err := db.WriteTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("store: migration %s/%s: %w", component, m.Name, err)
			}
			_, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
				component, m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano))
			return err
		})
		if err != nil {
			return applied, err
		}
		applied++
	}
	return applied, nil
}

// Version is the highest applied migration of component, or 0.
func (db *DB) Version(ctx context.Context, component string) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = $1`, component).Scan(&v)
	return v, err
}
