// Package pgdb opens a PostgreSQL database as a [store.DB], through pgx/v5
// and its database/sql adapter (github.com/jackc/pgx/v5/stdlib). It is the
// only package that links the PostgreSQL driver.
//
// Any number of Tong replicas may open the same database; see
// docs/operations.md for what each one does there.
package pgdb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tongid/tong/internal/store"
)

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://).
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the PostgreSQL database at dsn (a postgres:// URL or a
// libpq key=value string) with a pool of opts.Conns connections.
func Open(ctx context.Context, dsn string, opts store.Options) (*store.DB, error) {
	if dsn == "" {
		return nil, errors.New("store: empty database URL")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: database URL: %w", err)
	}
	if opts.Conns <= 0 {
		opts.Conns = store.DefaultConns
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opts.Conns)
	db.SetMaxIdleConns(opts.Conns)
	name := Redact(dsn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", name, err)
	}
	n := newNotifier(db, cfg)
	// Subscribers made right after Open should not miss messages for
	// want of a LISTEN; wait for it, briefly.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	n.waitReady(wctx)
	cancel()
	sdb, err := store.New(ctx, store.Pools{Engine: store.PostgreSQL, Write: db, Read: db, Name: name, Notifier: n})
	if err != nil {
		n.Close()
		return nil, err
	}
	return sdb, nil
}

// Redact returns dsn without its password, for logs and messages.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "postgres (key=value connection string)"
}
