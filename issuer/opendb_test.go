package issuer_test

import (
	"context"

	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

// openDB opens the SQLite database at path for a test or an example.
func openDB(ctx context.Context, path string, opts store.Options) (*store.DB, error) {
	return sqlitedb.Open(ctx, path, opts)
}
