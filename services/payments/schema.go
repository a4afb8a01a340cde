package payments

import "io/fs"

// Component is the payments service's migration component.
const Component = "payments"

// Schema is the payments service's migrations, for `tong admin migrate`.
func Schema() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}
