package meetings

import "io/fs"

// Component is the meetings service's migration component.
const Component = "meetings"

// Schema is the meetings service's migrations, for `tong admin migrate`.
func Schema() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}
