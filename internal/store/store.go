// Package store is Tong's SQL database: one [DB] type over either engine,
// each component's numbered, embedded migrations, and the write paths
// (WriteTx, GroupTx) whose guarantees hold on both.
//
// This package links no SQL driver. The code that opens a database picks
// the engine and so the driver: [github.com/tongid/tong/internal/store/sqlitedb]
// (modernc.org/sqlite) or [github.com/tongid/tong/internal/store/pgdb]
// (pgx/v5 through its database/sql adapter). A package that only uses a
// *DB (the issuer, the verifier, ...) links neither.
//
// # Embedded SQLite
//
// The default database is one SQLite file per data directory, opened with
// WAL, synchronous=FULL (a committed transaction survives power loss and
// kill -9), busy_timeout, foreign_keys=ON, one writer connection (BEGIN
// IMMEDIATE), so writers queue in Go rather than spinning on SQLITE_BUSY,
// and a separate pool of query_only readers.
//
// # PostgreSQL
//
// Many replicas share one database. Writer and Reader are the same pool.
// [DB.WriteTx] and [DB.GroupTx] run SERIALIZABLE transactions and run fn
// again when PostgreSQL reports a serialization failure or a deadlock, so
// the read-then-write code that one SQLite writer made safe stays safe
// across replicas: of two transactions that spend the same single-use
// value, one commits and the other sees the value spent.
// [DB.ReadCommittedTx] is for the few short transactions that move a hot
// counter on in place, which SERIALIZABLE would make collide.
//
// # Portable SQL
//
// Queries use $1, $2, ... placeholders, which both engines accept, and
// types that both accept (TEXT, BIGINT; BLOB is rewritten to BYTEA when a
// migration runs on PostgreSQL). Where the SQL really differs, a migration
// has per-engine files: NNNN_name.sqlite.sql and NNNN_name.postgres.sql
// override NNNN_name.sql on their engine.
//
// # Migrations
//
// Each component (the registry, the issuer, ...) owns a directory of files
// named NNNN_description.sql and hands it to [DB.Migrate] as an fs.FS.
// Versions are applied in order, each in its own transaction, and recorded in
// schema_migrations(component, version). A database that already holds a
// version newer than the code knows is refused rather than silently used.
// On PostgreSQL, concurrent migrators (replicas starting together, tong
// admin migrate) queue on an advisory lock, so each version runs once.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Engine names a database engine.
type Engine string

// The engines.
const (
	SQLite     Engine = "sqlite"
	PostgreSQL Engine = "postgres"
)

// DefaultBusyTimeout is how long a SQLite connection waits for a lock held
// by another process before reporting SQLITE_BUSY.
const DefaultBusyTimeout = 10 * time.Second

// DefaultConns is the PostgreSQL pool size when Options.Conns is zero.
const DefaultConns = 16

// MaxTxAttempts is how many times WriteTx and GroupTx run fn on
// PostgreSQL before giving up on serialization failures.
const MaxTxAttempts = 20

// retryBackoff is the wait before attempt+1: exponential with full
// jitter (up to 1 ms, 2 ms, 4 ms, … capped at 128 ms), so that many
// transactions that collided on one row (an agency's current status list,
// a log head) spread out instead of colliding again; 20 attempts wait
// at most about 1.8 s in all.
func retryBackoff(attempt int) time.Duration {
	ceil := time.Millisecond << min(attempt, 7)
	return time.Duration(rand.Int64N(int64(ceil))) + 100*time.Microsecond
}

// ContendedError is WriteTx giving up: every attempt collided with other
// writers (PostgreSQL serialization failures). Nothing was written. It is
// the database's way of saying "too busy, try again", so the HTTP layer
// answers 503 with Retry-After (it looks for the RetryAfter method, not
// this type) rather than a 500 that would read as a bug.
type ContendedError struct {
	Attempts int
	Err      error
}

func (e *ContendedError) Error() string {
	return fmt.Sprintf("store: gave up after %d serialization failures: %v", e.Attempts, e.Err)
}

func (e *ContendedError) Unwrap() error { return e.Err }

// RetryAfter is how long a client should wait before trying again.
func (e *ContendedError) RetryAfter() time.Duration { return time.Second }

// ErrNewerSchema reports a database migrated by a newer Tong than this one.
var ErrNewerSchema = errors.New("store: database schema is newer than this binary")

// Options tunes opening a database. The zero value is the safe default.
type Options struct {
	// BusyTimeout (SQLite) defaults to DefaultBusyTimeout.
	BusyTimeout time.Duration
	// Readers (SQLite) is the size of the read pool; zero means GOMAXPROCS*2.
	Readers int
	// Synchronous is the SQLite synchronous pragma. Empty means FULL.
	// NORMAL is only for benchmarks that say so: it may lose the last
	// transactions on power loss.
	Synchronous string
	// Conns (PostgreSQL) is the pool size; zero means DefaultConns.
	Conns int
}

// Pools is what an engine package hands to [New].
type Pools struct {
	Engine Engine
	// Write runs writes; on SQLite it holds one connection. Read runs
	// reads; it may be the same pool as Write.
	Write, Read *sql.DB
	// Name is what Path reports: a file path, or a URL without password.
	Name string
	// Notifier carries messages between replicas; nil means in-process
	// only (right for SQLite). Close closes it if it is an io.Closer.
	Notifier Notifier
}

// DB is an open database. All methods are safe for concurrent use.
type DB struct {
	engine   Engine
	write    *sql.DB
	read     *sql.DB
	name     string
	group    group
	closed   sync.Once
	notifier Notifier
}

// New wraps opened pools and creates the migrations table. Engine
// packages call it; others call sqlitedb.Open or pgdb.Open.
func New(ctx context.Context, p Pools) (*DB, error) {
	if p.Write == nil || p.Read == nil {
		return nil, errors.New("store: New needs both pools")
	}
	switch p.Engine {
	case SQLite, PostgreSQL:
	default:
		return nil, fmt.Errorf("store: unknown engine %q", p.Engine)
	}
	db := &DB{engine: p.Engine, write: p.Write, read: p.Read, name: p.Name, notifier: p.Notifier}
	if db.notifier == nil {
		db.notifier = &localNotifier{}
	}
	if err := db.ensureMigrationsTable(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Engine is the database's engine.
func (db *DB) Engine() Engine { return db.engine }

// Path is the database file's path (SQLite), or its URL without the
// password (PostgreSQL).
func (db *DB) Path() string { return db.name }

// Writer is the pool for writes (on SQLite at most one connection). Use
// it for INSERT/UPDATE and for reads that must see the writer's state.
func (db *DB) Writer() *sql.DB { return db.write }

// Reader is the read pool (read-only on SQLite).
func (db *DB) Reader() *sql.DB { return db.read }

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close closes the pools. It is safe to call more than once.
func (db *DB) Close() error {
	var err error
	db.closed.Do(func() {
		db.group.close()
		if c, ok := db.notifier.(io.Closer); ok {
			c.Close()
		}
		if db.read == db.write {
			err = db.write.Close()
			return
		}
		err = errors.Join(db.read.Close(), db.write.Close())
	})
	return err
}

// WriteTx runs fn in one write transaction and commits it when fn returns
// nil. A commit that returns nil is durable (SQLite synchronous=FULL;
// PostgreSQL synchronous_commit, on by default).
//
// On PostgreSQL the transaction is SERIALIZABLE, and fn MAY run more than
// once: when the database reports a serialization failure or deadlock,
// the transaction is rolled back and fn runs again. fn MUST therefore act
// only through tx, and assign (not accumulate) any result it hands out.
func (db *DB) WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.writeTx(ctx, sql.LevelSerializable, fn)
}

// ReadCommittedTx is WriteTx at READ COMMITTED on PostgreSQL, for a short
// transaction that updates a hot row in place, such as a counter that
// every request moves on (UPDATE ... SET n = n + 1 ... RETURNING). Under
// SERIALIZABLE all concurrent callers but one would fail on that row and
// be retried; under READ COMMITTED they queue on the row's lock for as
// long as the statement holds it, and an UPDATE that waited evaluates its
// WHERE again on the row's newest version.
//
// Each statement sees what was committed before it began, so fn MUST NOT
// rely on a value it read staying true: it must lock what it reads
// (UPDATE ... RETURNING, SELECT ... FOR UPDATE) or write conditionally.
// fn MAY run more than once (on a deadlock, see WriteTx). On SQLite, whose
// one writer serializes every transaction, it is WriteTx.
func (db *DB) ReadCommittedTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.writeTx(ctx, sql.LevelReadCommitted, fn)
}

func (db *DB) writeTx(ctx context.Context, level sql.IsolationLevel, fn func(tx *sql.Tx) error) error {
	if db.engine != PostgreSQL {
		return db.writeTxOnce(ctx, nil, fn)
	}
	opts := &sql.TxOptions{Isolation: level}
	var err error
	for attempt := range MaxTxAttempts {
		err = db.writeTxOnce(ctx, opts, fn)
		if !IsRetryable(err) {
			return err
		}
		select {
		case <-time.After(retryBackoff(attempt)):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
	}
	return &ContendedError{Attempts: MaxTxAttempts, Err: err}
}

func (db *DB) writeTxOnce(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, opts)
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
	const q = `CREATE TABLE IF NOT EXISTS schema_migrations (
	component  TEXT   NOT NULL,
	version    BIGINT NOT NULL,
	name       TEXT   NOT NULL,
	applied_at TEXT   NOT NULL,
	PRIMARY KEY (component, version)
)`
	var err error
	if db.engine == PostgreSQL {
		// CREATE TABLE IF NOT EXISTS races with itself on PostgreSQL
		// (two replicas starting together): take the migration lock.
		err = db.writeTxOnce(ctx, nil, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, q)
			return err
		})
	} else {
		_, err = db.write.ExecContext(ctx, q)
	}
	if err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	return nil
}

// migrationLockKey is the PostgreSQL advisory lock that migrations hold
// (a fixed number: "tongmigr" in ASCII).
const migrationLockKey int64 = 0x746f6e676d696772

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+?(\.sqlite|\.postgres)?\.sql$`)

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads the NNNN_name.sql files of engine from the root of
// fsys, in order: for each version, NNNN_name.<engine>.sql if there is
// one, else NNNN_name.sql. Versions must start at 1 and have no gaps or
// duplicates, and every version must have a file for engine.
func LoadMigrations(fsys fs.FS, engine Engine) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	type slot struct{ generic, specific *Migration }
	byVersion := map[int]*slot{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("store: migration file %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		s := byVersion[v]
		if s == nil {
			s = &slot{}
			byVersion[v] = s
		}
		var dst **Migration
		switch m[2] {
		case "":
			dst = &s.generic
		case "." + string(engine):
			dst = &s.specific
		default:
			continue // another engine's file
		}
		if *dst != nil {
			return nil, fmt.Errorf("store: migrations %s and %s have the same version", (*dst).Name, e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Clean(e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		*dst = &Migration{Version: v, Name: e.Name(), SQL: string(body)}
	}
	var ms []Migration
	for v, s := range byVersion {
		m := s.specific
		if m == nil {
			m = s.generic
		}
		if m == nil {
			return nil, fmt.Errorf("store: migration %04d has no file for %s (want NNNN_name.sql or NNNN_name.%s.sql)", v, engine, engine)
		}
		ms = append(ms, *m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("store: migration %s: want version %04d (versions start at 1 with no gaps or duplicates)", m.Name, i+1)
		}
	}
	return ms, nil
}

var blobType = regexp.MustCompile(`(?i)\bBLOB\b`)

// engineSQL adapts a shared migration to the engine: BLOB is BYTEA on
// PostgreSQL.
func (db *DB) engineSQL(q string) string {
	if db.engine == PostgreSQL {
		return blobType.ReplaceAllString(q, "BYTEA")
	}
	return q
}

// Migrate applies component's migrations from fsys that the database does
// not have yet, each in its own transaction, and returns how many it
// applied. It refuses (ErrNewerSchema) a database that holds a version
// this binary does not know.
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS) (int, error) {
	ms, err := LoadMigrations(fsys, db.engine)
	if err != nil {
		return 0, err
	}
	current, err := db.version(ctx, db.write, component)
	if err != nil {
		return 0, err
	}
	if current > len(ms) {
		return 0, fmt.Errorf("%w: %s is at version %d, this binary knows %d", ErrNewerSchema, component, current, len(ms))
	}
	applied := 0
	for _, m := range ms[current:] {
		ran := false
		err := db.writeTxOnce(ctx, nil, func(tx *sql.Tx) error {
			if db.engine == PostgreSQL {
				// Another migrator may have applied m while we waited.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
					return err
				}
				v, err := db.version(ctx, tx, component)
				if err != nil {
					return err
				}
				if v > len(ms) {
					return fmt.Errorf("%w: %s is at version %d, this binary knows %d", ErrNewerSchema, component, v, len(ms))
				}
				if v >= m.Version {
					return nil
				}
			}
			if _, err := tx.ExecContext(ctx, db.engineSQL(m.SQL)); err != nil {
				return fmt.Errorf("store: migration %s/%s: %w", component, m.Name, err)
			}
			_, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
				component, m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano))
			ran = true
			return err
		})
		if err != nil {
			return applied, err
		}
		if ran {
			applied++
		}
	}
	return applied, nil
}

// Check reports ErrNewerSchema if the database holds a version of
// component newer than fsys knows, and how many versions fsys has that
// the database lacks.
func (db *DB) Check(ctx context.Context, component string, fsys fs.FS) (missing int, err error) {
	ms, err := LoadMigrations(fsys, db.engine)
	if err != nil {
		return 0, err
	}
	current, err := db.version(ctx, db.read, component)
	if err != nil {
		return 0, err
	}
	if current > len(ms) {
		return 0, fmt.Errorf("%w: %s is at version %d, this binary knows %d", ErrNewerSchema, component, current, len(ms))
	}
	return len(ms) - current, nil
}

type queryRower interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func (db *DB) version(ctx context.Context, q queryRower, component string) (int, error) {
	var v int
	err := q.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = $1`, component).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: read schema version of %s: %w", component, err)
	}
	return v, nil
}

// Version is the highest applied migration of component, or 0.
func (db *DB) Version(ctx context.Context, component string) (int, error) {
	return db.version(ctx, db.read, component)
}

// Strings runs a query of one text column on q (the read pool, or a
// transaction) and returns its values in order: the ids a listing selects
// before loading each.
func Strings(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
