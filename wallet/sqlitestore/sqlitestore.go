//go:build !js

// Package sqlitestore keeps a wallet's sealed records in one SQLite file
// (internal/store: WAL, one writer). It implements wallet.Store for the
// CLI and other native programs; the browser build uses
// wallet/idbstore instead.
//
// The store sees only sealed bytes: the wallet seals every record with
// its data key before Put, so the file holds nothing in the clear but
// each record's kind, id and creation time, and the key-derivation
// parameters.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a wallet file.
type Store struct {
	db *store.DB
}

// ErrCorrupt wraps errors that mean the file is not a wallet (a failed
// migration, unreadable rows).
var ErrCorrupt = errors.New("sqlitestore: the wallet file is damaged")

// Exists reports whether a file is at path.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Open opens (or creates, mode 0600) the wallet file at path and brings
// its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	fresh := !Exists(path)
	db, err := sqlitedb.Open(ctx, path, store.Options{Readers: 2})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := db.Migrate(ctx, "wallet", sub); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if fresh {
		if err := os.Chmod(path, 0o600); err != nil {
			db.Close()
			return nil, err
		}
	}
	return &Store{db: db}, nil
}

// Name is the file's path.
func (s *Store) Name() string { return s.db.Path() }

// Meta returns a metadata value, or fs.ErrNotExist.
func (s *Store) Meta(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.db.Reader().QueryRowContext(ctx, `SELECT value FROM wallet_meta WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return v, nil
}

// SetMeta sets metadata values in one transaction; a nil value deletes.
func (s *Store) SetMeta(ctx context.Context, values map[string][]byte) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		for name, val := range values {
			var err error
			if val == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM wallet_meta WHERE name = $1`, name)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO wallet_meta (name, value) VALUES ($1, $2)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, val)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Put inserts or replaces a record. A replaced record keeps its kind and
// creation time.
func (s *Store) Put(ctx context.Context, kind, id string, created int64, sealed []byte) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO wallet_records (id, kind, created, sealed) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed`, id, kind, created, sealed)
	return err
}

// Get returns a record's sealed bytes, or fs.ErrNotExist.
func (s *Store) Get(ctx context.Context, kind, id string) ([]byte, error) {
	var sealed []byte
	err := s.db.Reader().QueryRowContext(ctx, `SELECT sealed FROM wallet_records WHERE id = $1 AND kind = $2`, id, kind).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return sealed, nil
}

// List calls each for every record of kind ("" for every kind), ordered
// by creation time, then id.
func (s *Store) List(ctx context.Context, kind string, each func(kind, id string, created int64, sealed []byte) error) error {
	q, args := `SELECT kind, id, created, sealed FROM wallet_records ORDER BY created, id`, []any{}
	if kind != "" {
		q, args = `SELECT kind, id, created, sealed FROM wallet_records WHERE kind = $1 ORDER BY created, id`, []any{kind}
	}
	rows, err := s.db.Reader().QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, id string
		var created int64
		var sealed []byte
		if err := rows.Scan(&k, &id, &created, &sealed); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if err := each(k, id, created, sealed); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

// Delete removes a record, or returns fs.ErrNotExist.
func (s *Store) Delete(ctx context.Context, kind, id string) error {
	res, err := s.db.Writer().ExecContext(ctx, `DELETE FROM wallet_records WHERE id = $1 AND kind = $2`, id, kind)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fs.ErrNotExist
	}
	return nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }
