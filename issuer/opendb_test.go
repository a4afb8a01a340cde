package issuer_test

import (
	"context"

	"github.com/tongid/tong/internal/store"
)

// openDB opens the SQLite database at path for a test or an example. It
// is the one place these tests name the SQLite opener: on a tree where
// the driver lives in internal/store/sqlitedb, this is sqlitedb.Open.
func openDB(ctx context.Context, path string, opts store.Options) (*store.DB, error) {
	return store.Open(ctx, path, opts)
}
