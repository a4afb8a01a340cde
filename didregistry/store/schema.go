package store

import "io/fs"

// Schema is the registry log's migrations, for `tong admin migrate`.
func Schema() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}
