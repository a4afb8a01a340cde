package main

import (
	"context"
	"path/filepath"

	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/pgdb"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

// databaseUsage is the --database flag's help.
const databaseUsage = "PostgreSQL database URL (postgres://...) shared by every replica; empty means DATA/tong.db (SQLite)"

// envNames are the environment variables whose names are not TONG_ + the
// flag's name.
var envNames = map[string]string{"database": "TONG_DATABASE_URL"}

// openDB opens the database: PostgreSQL at database if it is set, else
// SQLite in the data directory.
func openDB(ctx context.Context, data, database string) (*store.DB, error) {
	if database == "" {
		return sqlitedb.Open(ctx, filepath.Join(data, "tong.db"), store.Options{})
	}
	if !pgdb.IsURL(database) {
		return nil, usagef("--database %q: want a postgres:// or postgresql:// URL (leave it empty for SQLite in --data)", pgdb.Redact(database))
	}
	db, err := pgdb.Open(ctx, database, store.Options{})
	if err != nil {
		return nil, withHint(err, "is PostgreSQL running, and does the URL name an existing database and a user that may use it?")
	}
	return db, nil
}
