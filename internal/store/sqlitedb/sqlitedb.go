// Package sqlitedb opens Tong's embedded SQLite database (modernc.org/sqlite,
// pure Go) as a [store.DB]. It is the only package that registers the
// SQLite driver.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tongid/tong/internal/store"
)

// Open opens (creating if needed) the SQLite database at file path p:
// WAL, synchronous=FULL (or opts.Synchronous), busy_timeout,
// foreign_keys=ON, one writer connection that begins IMMEDIATE
// transactions, and a pool of query_only readers.
func Open(ctx context.Context, p string, opts store.Options) (*store.DB, error) {
	if p == "" {
		return nil, errors.New("store: empty database path")
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = store.DefaultBusyTimeout
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
	return store.New(ctx, store.Pools{Engine: store.SQLite, Write: write, Read: read, Name: p})
}
